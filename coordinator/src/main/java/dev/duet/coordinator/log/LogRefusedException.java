package dev.duet.coordinator.log;

/**
 * The append was never queued, so it is certainly not on disk: the caller may still abort. (An
 * append that failed after it was queued may or may not have reached the disk.)
 */
public class LogRefusedException extends java.io.IOException {
  public LogRefusedException(String message) {
    super(message);
  }
}

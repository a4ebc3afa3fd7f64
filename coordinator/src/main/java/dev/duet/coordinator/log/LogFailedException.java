package dev.duet.coordinator.log;

/**
 * Writing or syncing the log failed. The log refuses every append from then on: a coordinator
 * that cannot make decisions durable must stop deciding rather than guess (STYLE §4).
 */
public final class LogFailedException extends java.io.IOException {
  public LogFailedException(String message, Throwable cause) {
    super(message, cause);
  }
}

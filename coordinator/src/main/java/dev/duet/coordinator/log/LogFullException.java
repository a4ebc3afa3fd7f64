package dev.duet.coordinator.log;

/** Back-pressure: {@code pendingAppendsMax} appends already wait for the writer. */
public final class LogFullException extends LogRefusedException {
  public LogFullException(String message) {
    super(message);
  }
}

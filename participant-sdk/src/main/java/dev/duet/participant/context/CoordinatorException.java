package dev.duet.participant.context;

/** The coordinator answered a request with an error status. */
public final class CoordinatorException extends RuntimeException {
  private final int status;
  private final String code;

  public CoordinatorException(int status, String code, String message) {
    super("coordinator answered " + status + (code == null ? "" : " " + code) + (message == null ? "" : ": " + message));
    this.status = status;
    this.code = code;
  }

  /** The HTTP status. */
  public int status() {
    return status;
  }

  /** The {@code error} field of the body, or null. */
  public String code() {
    return code;
  }
}

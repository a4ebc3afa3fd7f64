package dev.duet.wire;

/**
 * Always-on invariant checks. Java's {@code assert} is off unless the JVM runs with -ea; the
 * invariants that protect money must hold in production too. A failed check is a bug: it throws
 * rather than letting a broken state reach the log or a participant.
 */
public final class Check {
  private Check() {}

  public static void that(boolean condition, String invariant) {
    if (!condition) {
      throw new InvariantViolation(invariant);
    }
  }

  public static <T> T notNull(T value, String what) {
    if (value == null) {
      throw new InvariantViolation(what + " is not null");
    }
    return value;
  }

  public static final class InvariantViolation extends IllegalStateException {
    public InvariantViolation(String invariant) {
      super("invariant violated: " + invariant);
    }
  }
}

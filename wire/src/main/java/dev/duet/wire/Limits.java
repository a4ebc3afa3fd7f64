package dev.duet.wire;

/** Bounds on what either side accepts. Going over one is a 4xx, never unbounded growth. */
public final class Limits {
  private Limits() {}

  /** Largest request body either side reads. */
  public static final int BODY_BYTES_MAX = 64 * 1024;

  /** Participant names go into an XA branch qualifier, which holds at most 64 bytes. */
  public static final int PARTICIPANT_NAME_BYTES_MAX = 64;

  /** Participant URLs longer than this are refused. */
  public static final int PARTICIPANT_URL_CHARS_MAX = 2048;

  /** Participants one transaction may enlist. */
  public static final int PARTICIPANTS_PER_TX_MAX = 16;

  /** Shortest and longest transaction timeout a client may ask for. */
  public static final long TX_TIMEOUT_MS_MIN = 100;
  public static final long TX_TIMEOUT_MS_MAX = 10 * 60 * 1000L;
  public static final long TX_TIMEOUT_MS_DEFAULT = 30_000;

  /** How far a signed request's timestamp may be from the receiver's clock. */
  public static final long SIGNATURE_WINDOW_MS = 5 * 60 * 1000L;
}

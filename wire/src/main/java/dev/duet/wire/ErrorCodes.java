package dev.duet.wire;

/** Values of the {@code error} field of error bodies. */
public final class ErrorCodes {
  private ErrorCodes() {}

  public static final String BAD_JSON = "BAD_JSON";
  public static final String BAD_REQUEST = "BAD_REQUEST";
  public static final String BODY_TOO_LARGE = "BODY_TOO_LARGE";
  public static final String NOT_FOUND = "NOT_FOUND";
  public static final String METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED";
  public static final String UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE";
  public static final String UNAUTHORIZED = "UNAUTHORIZED";
  public static final String BAD_SIGNATURE = "BAD_SIGNATURE";
  public static final String OVERLOADED = "OVERLOADED";
  public static final String UNAVAILABLE = "UNAVAILABLE";
  public static final String INTERNAL = "INTERNAL";

  /**
   * The coordinator holds no commit decision for this well-formed id and never will: under presumed
   * abort the transaction is aborted. Only this code (with 404) lets an in-doubt branch roll back.
   */
  public static final String TRANSACTION_UNKNOWN = "TRANSACTION_UNKNOWN";
  /** The transaction is past the state the request needs (e.g. enlist after commit began). */
  public static final String TRANSACTION_NOT_ACTIVE = "TRANSACTION_NOT_ACTIVE";
  public static final String ALREADY_COMMITTED = "ALREADY_COMMITTED";
  /** A commit request whose transaction aborted (409, with {@code outcome} and {@code reason}). */
  public static final String ABORTED = "ABORTED";
  public static final String ALREADY_ABORTED = "ALREADY_ABORTED";
  public static final String TOO_MANY_PARTICIPANTS = "TOO_MANY_PARTICIPANTS";
  public static final String PARTICIPANT_CONFLICT = "PARTICIPANT_CONFLICT";
  /**
   * One-phase commit only: the single participant did not answer the commit, so only it knows the
   * outcome (PROTOCOL-TRAPS 7). Sent with 504 and {@code "outcome": "UNKNOWN"}.
   */
  public static final String OUTCOME_UNKNOWN = "OUTCOME_UNKNOWN";

  /** Participant side: the branch is unknown or finished and cannot take this request. */
  public static final String BRANCH_UNKNOWN = "BRANCH_UNKNOWN";
  public static final String BRANCH_CONFLICT = "BRANCH_CONFLICT";
  public static final String TOO_MANY_BRANCHES = "TOO_MANY_BRANCHES";
}

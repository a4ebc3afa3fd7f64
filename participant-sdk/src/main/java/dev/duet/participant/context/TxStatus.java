package dev.duet.participant.context;

/** A transaction's outcome as the coordinator reports it to a participant's recovery. */
public enum TxStatus {
  /** COMMIT is decided: commit the branch. */
  COMMITTED,
  /** ABORT is decided, or the coordinator answered 404 {@code TRANSACTION_UNKNOWN} (presumed abort). */
  ABORTED,
  /** ACTIVE or PREPARING: the coordinator may still decide either way. Ask again later. */
  UNDECIDED,
  /** No usable answer (network error, 5xx, 401, unexpected reply). Ask again later; never guess. */
  UNREACHABLE;

  /** True if the branch may be finished on this answer. */
  public boolean decided() {
    return this == COMMITTED || this == ABORTED;
  }
}

package dev.duet.wire;

/** A transaction's state at the coordinator, as reported by {@code GET /v1/transactions/{id}}. */
public enum TxState {
  /** Accepting enlistments; nothing decided. */
  ACTIVE,
  /** Phase 1 under way; undecided. A participant asking must wait, never presume abort. */
  PREPARING,
  /** COMMIT decided and durable; phase 2 still telling participants. */
  COMMITTING,
  /** COMMIT decided and every participant acknowledged. */
  COMMITTED,
  /** ABORT decided; phase 2 still telling participants. */
  ABORTING,
  /** ABORT decided and every participant told. */
  ABORTED,
  /**
   * One-phase commit only: the single participant never answered the commit, so only it knows the
   * outcome (PROTOCOL-TRAPS 7). No participant is in doubt: a one-phase branch is never prepared.
   */
  UNKNOWN;

  /** True once the coordinator will not change the outcome any more. */
  public boolean decided() {
    return this != ACTIVE && this != PREPARING;
  }

  /** The decided outcome, or null while undecided. */
  public Outcome outcome() {
    return switch (this) {
      case COMMITTING, COMMITTED -> Outcome.COMMITTED;
      case ABORTING, ABORTED -> Outcome.ABORTED;
      case UNKNOWN -> Outcome.UNKNOWN;
      default -> null;
    };
  }
}

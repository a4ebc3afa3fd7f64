package dev.duet.wire;

/** The outcome of a transaction as reported to clients. */
public enum Outcome {
  COMMITTED,
  ABORTED,
  /**
   * Only for one-phase commit: the single participant was asked to commit and did not answer, so
   * only the participant knows (PROTOCOL-TRAPS 7). Never reported as ABORTED.
   */
  UNKNOWN
}

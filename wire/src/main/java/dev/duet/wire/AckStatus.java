package dev.duet.wire;

/** A participant's answer to commit or rollback. */
public enum AckStatus {
  /** The branch is committed (or was already, or was unknown and so finished long ago). */
  COMMITTED,
  /** The branch is rolled back (or was already, or was unknown). */
  ROLLED_BACK,
  /** The branch was committed on its own, against a rollback decision. */
  HEURISTIC_COMMIT,
  /** The branch was rolled back on its own, against a commit decision. */
  HEURISTIC_ROLLBACK,
  /** Part of the branch committed, part rolled back. */
  HEURISTIC_MIXED;

  public boolean heuristic() {
    return this == HEURISTIC_COMMIT || this == HEURISTIC_ROLLBACK || this == HEURISTIC_MIXED;
  }
}

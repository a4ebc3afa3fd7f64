package dev.duet.wire;

/** A participant's answer to prepare. */
public enum Vote {
  /** The branch is durable and will commit or roll back only as the coordinator decides. */
  PREPARED,
  /** The branch changed nothing; it takes no part in phase 2. */
  READ_ONLY,
  /** The branch cannot commit; the transaction must abort. */
  ABORT
}

package dev.duet.participant;

/**
 * A request that contradicts the branch's state (for example a two-phase commit of a branch that
 * was never prepared). The endpoints answer 409 {@code BRANCH_CONFLICT}; nothing changes.
 */
public class BranchConflictException extends IllegalStateException {
  public BranchConflictException(String message) {
    super(message);
  }
}

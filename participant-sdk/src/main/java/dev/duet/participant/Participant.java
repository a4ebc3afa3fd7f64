package dev.duet.participant;

import dev.duet.wire.AckStatus;
import dev.duet.wire.Vote;
import java.util.List;

/**
 * A resource that takes part in Duet transactions: the XA-like contract behind the participant
 * endpoints. Methods are <b>blocking</b>; the SDK calls them on a bounded worker pool, never on an
 * event loop, and may call them concurrently for different transactions and more than once for the
 * same one (the coordinator retries, and messages may be duplicated or reordered).
 *
 * <p>The rules an implementation must keep (docs/participant-guide.md, PROTOCOL-TRAPS 9–13):
 *
 * <ol>
 *   <li><b>Durable before PREPARED.</b> {@link #prepare} returns {@link Vote#PREPARED} only after the
 *       branch's work is durable and can still be committed or rolled back after a crash of this
 *       process (for JDBC: {@code XAResource.prepare} has returned).
 *   <li><b>Never decide alone.</b> A prepared branch is finished only by {@link #commit} or
 *       {@link #rollback} called on the coordinator's decision. Timeouts may roll back branches that
 *       are not yet prepared, never prepared ones.
 *   <li><b>Unknown branches.</b> {@link #prepare} of an unknown branch votes {@link Vote#ABORT} (its
 *       work was lost, e.g. rolled back by a timeout or a restart). {@link #commit} and
 *       {@link #rollback} of an unknown branch succeed: it was finished earlier and forgotten.
 *   <li><b>Idempotent.</b> Repeating prepare, commit or rollback gives the same answer and does
 *       nothing more the second time.
 *   <li><b>Exceptions mean "not now".</b> Throwing tells the coordinator the call failed (HTTP 503):
 *       a failed prepare counts as an ABORT vote, a failed commit or rollback is retried later. Never
 *       report success for work that is not done.
 *   <li><b>In doubt stays visible.</b> {@link #inDoubt} lists every prepared, unfinished branch,
 *       including those left by an earlier run of the process.
 * </ol>
 */
public interface Participant {

  /** This participant's name as enlisted with the coordinator (e.g. {@code bank-a}). */
  String name();

  /**
   * Phase 1. Makes the branch durable and votes: {@link Vote#PREPARED} once it is durable,
   * {@link Vote#READ_ONLY} if it changed nothing (it then takes no part in phase 2),
   * {@link Vote#ABORT} if it cannot commit or is unknown.
   */
  Vote prepare(String txId) throws Exception;

  /**
   * Phase 2 after a COMMIT decision, or a one-phase commit ({@code onePhase}: the only participant,
   * not prepared; commit directly). Idempotent; an unknown branch answers
   * {@link AckStatus#COMMITTED}.
   */
  AckStatus commit(String txId, boolean onePhase) throws Exception;

  /**
   * Phase 2 after an ABORT decision, or a rollback before prepare. Idempotent; an unknown branch
   * answers {@link AckStatus#ROLLED_BACK}; a branch that is already committed answers
   * {@link AckStatus#HEURISTIC_COMMIT} (never a refusal: the coordinator would retry for ever).
   */
  AckStatus rollback(String txId) throws Exception;

  /** Transaction ids of branches that are prepared and not yet committed or rolled back. */
  List<String> inDoubt() throws Exception;
}

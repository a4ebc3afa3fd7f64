package dev.duet.participant.context;

import dev.duet.wire.Outcome;

/**
 * What the coordinator answered to a commit or rollback request.
 *
 * @param outcome COMMITTED, ABORTED, or UNKNOWN (one-phase commit whose only participant did not
 *     answer: only that participant knows; never treat it as aborted)
 * @param reason why it aborted or is unknown; null when committed
 */
public record CommitResult(Outcome outcome, String reason) {}

package dev.duet.participant.recovery;

import java.util.List;

/**
 * What one recovery round did.
 *
 * @param found prepared branches of this participant that were examined
 * @param committed branches committed on the coordinator's COMMIT
 * @param rolledBack branches rolled back on ABORT (or 404 TRANSACTION_UNKNOWN: presumed abort)
 * @param undecided branches left prepared because the transaction is still undecided
 * @param unreachable branches left prepared because the coordinator gave no usable answer
 * @param failed branches whose commit or rollback failed; left prepared, retried next round
 * @param stillInDoubt transaction ids still prepared after the round
 */
public record RecoveryReport(int found, int committed, int rolledBack, int undecided, int unreachable, int failed,
    List<String> stillInDoubt) {}

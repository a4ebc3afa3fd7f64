package dev.duet.coordinator.protocol;

import static dev.duet.coordinator.protocol.Driver.of;
import static dev.duet.coordinator.protocol.Driver.reply;
import static dev.duet.coordinator.protocol.Driver.sends;
import static dev.duet.coordinator.protocol.Driver.sentTo;
import static dev.duet.coordinator.protocol.Driver.url;
import static org.assertj.core.api.Assertions.assertThat;

import dev.duet.coordinator.protocol.Action.AppendCommit;
import dev.duet.coordinator.protocol.Action.Send;
import dev.duet.wire.AckStatus;
import dev.duet.wire.ErrorCodes;
import dev.duet.wire.Limits;
import dev.duet.wire.Messages.TxView;
import dev.duet.wire.Outcome;
import dev.duet.wire.TxIds;
import dev.duet.wire.TxState;
import dev.duet.wire.Vote;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Duplicate, late and out-of-order messages (trap 4), bounds and retention. */
class CoordinatorLateAndBoundsTest {

  private final Driver d = new Driver();

  @Test
  @DisplayName("trap 4: a PREPARED vote after the prepare timeout aborted the transaction is answered with ROLLBACK")
  void latePreparedAfterTimeoutGetsRollback() {
    String id = d.beginWith("a", "b");
    d.commit(id);
    d.take();
    d.vote(id, "a", Vote.PREPARED);
    d.advance(Driver.CONFIG.prepareTimeoutMs());
    assertThat(sentTo(d.take(), Send.Kind.ROLLBACK)).containsExactlyInAnyOrder("a", "b");
    // b's rollback overtook its prepare: b answers "rolled back" (unknown branch), then votes PREPARED.
    d.core.ackReceived(id, "b", AckStatus.ROLLED_BACK, null, d.now);
    d.vote(id, "b", Vote.PREPARED);
    List<Send> again = sends(d.take(), Send.Kind.ROLLBACK);
    assertThat(again).singleElement().satisfies(s -> {
      assertThat(s.participant()).isEqualTo("b");
      assertThat(s.url()).isEqualTo(url("b"));
    });
    assertThat(d.view(id).state()).as("b must acknowledge again").isEqualTo(TxState.ABORTING);
    d.core.ackReceived(id, "a", AckStatus.ROLLED_BACK, null, d.now);
    d.core.ackReceived(id, "b", AckStatus.ROLLED_BACK, null, d.now);
    assertThat(d.view(id).state()).isEqualTo(TxState.ABORTED);

    // Even later, with the transaction ended: still a rollback, never silence.
    d.vote(id, "b", Vote.PREPARED);
    assertThat(sentTo(d.take(), Send.Kind.ROLLBACK)).containsExactly("b");
  }

  @Test
  @DisplayName("trap 4: a late ABORT or READ_ONLY vote asks nothing of anybody")
  void lateNonPreparedVotes() {
    String id = d.beginWith("a", "b");
    d.rollback(id);
    d.take();
    d.vote(id, "a", Vote.ABORT);
    d.vote(id, "b", Vote.READ_ONLY);
    assertThat(d.take()).isEmpty();
  }

  @Test
  @DisplayName("trap 1/13: a PREPARED vote for a transaction the core does not know sends nothing; the branch's own recovery hears TRANSACTION_UNKNOWN")
  void lateVoteForUnknownTransaction() {
    String id = TxIds.next(d.now);
    d.vote(id, "a", Vote.PREPARED);
    assertThat(d.take()).isEmpty();
    Answer s = d.core.status(id);
    assertThat(s.errorCode()).isEqualTo(ErrorCodes.TRANSACTION_UNKNOWN);
    assertThat(s.outcome()).as("the branch rolls back on the 404 itself, not on a claimed outcome").isNull();
  }

  @Test
  @DisplayName("trap 4: enlist after phase 1 began is refused with TRANSACTION_NOT_ACTIVE and changes nothing")
  void enlistAfterPhase1Refused() {
    String id = d.beginWith("a", "b");
    d.commit(id);
    d.take();
    Answer late = d.enlist(id, "c");
    assertThat(late.errorCode()).isEqualTo(ErrorCodes.TRANSACTION_NOT_ACTIVE);
    assertThat(late.message()).contains("roll back");
    assertThat(d.view(id).participants()).hasSize(2);
    assertThat(d.enlist(id, "a").errorCode()).as("even a re-enlist").isEqualTo(ErrorCodes.TRANSACTION_NOT_ACTIVE);

    d.vote(id, "a", Vote.PREPARED);
    d.vote(id, "b", Vote.PREPARED);
    d.take();
    assertThat(d.enlist(id, "c").errorCode()).as("deciding").isEqualTo(ErrorCodes.TRANSACTION_NOT_ACTIVE);
    d.core.commitDurable(id, d.now);
    Answer committing = d.enlist(id, "c");
    assertThat(committing.errorCode()).isEqualTo(ErrorCodes.TRANSACTION_NOT_ACTIVE);
    assertThat(committing.outcome()).isEqualTo(Outcome.COMMITTED);
    d.core.ackReceived(id, "a", AckStatus.COMMITTED, null, d.now);
    d.core.ackReceived(id, "b", AckStatus.COMMITTED, null, d.now);
    Answer ended = d.enlist(id, "c");
    assertThat(ended.errorCode()).as("ended but remembered: 409, not 404").isEqualTo(ErrorCodes.TRANSACTION_NOT_ACTIVE);
    assertThat(ended.outcome()).isEqualTo(Outcome.COMMITTED);
    assertThat(d.view(id).participants()).hasSize(2);
  }

  @Test
  @DisplayName("trap 4: a second commit while preparing joins the first: no second prepare round, same outcome")
  void secondCommitJoinsFirst() {
    String id = d.beginWith("a", "b");
    long first = d.nextRequestId();
    long second = d.nextRequestId();
    d.core.commit(id, first, false, d.now);
    assertThat(sends(d.take(), Send.Kind.PREPARE)).hasSize(2);
    assertThat(d.core.commit(id, second, false, d.now)).isNull();
    assertThat(d.take()).as("no second prepare round").isEmpty();
    d.vote(id, "a", Vote.PREPARED);
    d.core.voteReceived(id, "b", Vote.ABORT, "no", d.now);
    List<Action> out = d.take();
    assertThat(reply(out, first).answer().outcome()).isEqualTo(Outcome.ABORTED);
    assertThat(reply(out, second).answer().outcome()).isEqualTo(Outcome.ABORTED);
    assertThat(d.commit(id).outcome()).as("a third, after the decision").isEqualTo(Outcome.ABORTED);
    assertThat(sends(d.take(), Send.Kind.PREPARE)).isEmpty();
  }

  @Test
  @DisplayName("duplicate votes: the first answer stands (a later ABORT does not undo a PREPARED)")
  void duplicateVotes() {
    String id = d.beginWith("a", "b");
    d.commit(id);
    d.take();
    d.vote(id, "a", Vote.PREPARED);
    d.vote(id, "a", Vote.PREPARED);
    d.vote(id, "a", Vote.ABORT);
    assertThat(d.take()).isEmpty();
    assertThat(d.view(id).state()).isEqualTo(TxState.PREPARING);
    d.vote(id, "b", Vote.PREPARED);
    assertThat(of(d.take(), AppendCommit.class)).hasSize(1);
    d.vote(id, "b", Vote.PREPARED); // duplicate while deciding
    assertThat(d.take()).isEmpty();
  }

  @Test
  @DisplayName("out of order: votes and acks from strangers, acks before phase 2, votes before phase 1 are ignored")
  void strayMessagesIgnored() {
    String id = d.beginWith("a", "b");
    d.vote(id, "a", Vote.PREPARED); // no prepare was sent: nothing to count, nothing to roll back
    d.core.ackReceived(id, "a", AckStatus.COMMITTED, null, d.now);
    assertThat(d.take()).isEmpty();
    assertThat(d.view(id).state()).isEqualTo(TxState.ACTIVE);
    d.commit(id);
    d.take();
    d.vote(id, "stranger", Vote.ABORT);
    d.core.ackReceived(id, "a", AckStatus.ROLLED_BACK, null, d.now);
    assertThat(d.take()).isEmpty();
    assertThat(d.view(id).state()).isEqualTo(TxState.PREPARING);
    d.core.ackReceived(TxIds.next(d.now), "a", AckStatus.COMMITTED, null, d.now);
    assertThat(d.take()).isEmpty();
  }

  @Test
  @DisplayName("timers that fire after the transaction ended are stale: nothing happens")
  void staleTimersAfterEnd() {
    String id = d.beginWith("a", "b");
    d.commit(id);
    d.vote(id, "a", Vote.PREPARED);
    d.vote(id, "b", Vote.PREPARED);
    d.core.commitDurable(id, d.now);
    d.core.ackReceived(id, "a", AckStatus.COMMITTED, null, d.now);
    d.core.ackReceived(id, "b", AckStatus.COMMITTED, null, d.now);
    d.take();
    d.advance(Limits.TX_TIMEOUT_MS_DEFAULT + Driver.CONFIG.prepareTimeoutMs());
    assertThat(d.take()).as("deadline and prepare timeout of an ended transaction").isEmpty();
    assertThat(d.view(id).state()).isEqualTo(TxState.COMMITTED);
  }

  @Test
  @DisplayName("bound: liveTransactionsMax refuses begin with OVERLOADED until a transaction ends")
  void liveTransactionsMax() {
    Driver small = new Driver(Driver.CONFIG.withLiveTransactionsMax(2));
    String first = small.begin();
    small.begin();
    Answer refused = small.core.begin(TxIds.next(small.now), null, small.now);
    assertThat(refused.errorCode()).isEqualTo(ErrorCodes.OVERLOADED);
    assertThat(small.core.stats().live()).isEqualTo(2);
    assertThat(small.commit(first).outcome()).isEqualTo(Outcome.COMMITTED);
    assertThat(small.core.begin(TxIds.next(small.now), null, small.now).created()).isTrue();
  }

  @Test
  @DisplayName("bound: waitersPerTxMax refuses the next parked request with OVERLOADED")
  void waitersPerTxMax() {
    String id = d.beginWith("a", "b");
    assertThat(d.commit(id)).isNull(); // waiter 1
    for (int i = 2; i <= Driver.CONFIG.waitersPerTxMax(); i++) assertThat(d.commit(id)).isNull();
    Answer over = d.commit(id);
    assertThat(over.errorCode()).isEqualTo(ErrorCodes.OVERLOADED);
    assertThat(d.core.rollback(id, d.nextRequestId(), d.now)).as("a rollback in PREPARING is not parked")
        .satisfies(a -> assertThat(a.outcome()).isEqualTo(Outcome.ABORTED));
  }

  @Test
  @DisplayName("bound: PARTICIPANTS_PER_TX_MAX refuses one more with TOO_MANY_PARTICIPANTS; re-enlisting stays fine")
  void participantsPerTxMax() {
    String id = d.begin();
    for (int i = 0; i < Limits.PARTICIPANTS_PER_TX_MAX; i++) assertThat(d.enlist(id, "p" + i).created()).isTrue();
    Answer over = d.enlist(id, "one-too-many");
    assertThat(over.errorCode()).isEqualTo(ErrorCodes.TOO_MANY_PARTICIPANTS);
    assertThat(d.enlist(id, "p0").isRejection()).isFalse();
    assertThat(d.view(id).participants()).hasSize(Limits.PARTICIPANTS_PER_TX_MAX);
  }

  @Test
  @DisplayName("retention: finished transactions are forgotten past finishedRetainedMax (oldest first) and past finishedRetainMs")
  void finishedRetention() {
    Driver small = new Driver(Driver.CONFIG.withFinishedRetained(2, 1_000));
    String t1 = small.begin();
    small.commit(t1);
    small.now += 10;
    String t2 = small.begin();
    small.commit(t2);
    small.now += 10;
    String t3 = small.begin();
    small.commit(t3);
    assertThat(small.core.status(t1).errorCode()).as("oldest forgotten").isEqualTo(ErrorCodes.TRANSACTION_UNKNOWN);
    // Trap 1 for clients: t1 committed. Forgotten, it must not be reported as aborted, or a client
    // retrying its commit would redo work that already happened.
    assertThat(small.core.status(t1).outcome()).as("a forgotten commit claims no outcome").isNull();
    assertThat(small.core.commit(t1, small.nextRequestId(), false, small.now).outcome())
        .as("a retried commit of a forgotten commit").isNotEqualTo(Outcome.ABORTED);
    assertThat(small.view(t2).state()).isEqualTo(TxState.COMMITTED);
    assertThat(small.view(t3).state()).isEqualTo(TxState.COMMITTED);
    small.advance(995);
    assertThat(small.core.status(t2).errorCode()).isEqualTo(ErrorCodes.TRANSACTION_UNKNOWN);
    assertThat(small.view(t3).state()).isEqualTo(TxState.COMMITTED);
    small.advance(20);
    assertThat(small.core.status(t3).errorCode()).isEqualTo(ErrorCodes.TRANSACTION_UNKNOWN);
    assertThat(small.core.stats().finished()).isZero();
  }

  @Test
  @DisplayName("retention never forgets a live transaction, however old (trap 1: PREPARING must stay visible)")
  void liveNeverForgotten() {
    Driver small = new Driver(Driver.CONFIG.withFinishedRetained(0, 0));
    String id = small.beginWith("a", "b");
    small.commit(id);
    small.vote(id, "a", Vote.PREPARED);
    small.vote(id, "b", Vote.PREPARED);
    small.advance(3_600_000);
    assertThat(small.view(id).state()).isEqualTo(TxState.PREPARING);
  }

  @Test
  @DisplayName("list: by state, after an id, bounded by limit, in id order")
  void list() {
    String a1 = d.begin();
    d.now += 1;
    String c1 = d.committing("x", "y");
    d.now += 1;
    String a2 = d.begin();
    d.now += 1;
    String done = d.begin();
    d.commit(done);
    List<TxView> active = d.core.list(TxState.ACTIVE, null, 10);
    assertThat(active).extracting(TxView::id).containsExactly(a1, a2);
    assertThat(d.core.list(TxState.COMMITTING, null, 10)).extracting(TxView::id).containsExactly(c1);
    assertThat(d.core.list(null, null, 2)).extracting(TxView::id).containsExactly(a1, c1);
    assertThat(d.core.list(null, c1, 10)).extracting(TxView::id).containsExactly(a2, done);
    assertThat(d.core.list(TxState.COMMITTED, null, 10)).extracting(TxView::id).containsExactly(done);
  }
}

package dev.duet.coordinator.protocol;

import static dev.duet.coordinator.protocol.Driver.of;
import static dev.duet.coordinator.protocol.Driver.reply;
import static dev.duet.coordinator.protocol.Driver.sends;
import static dev.duet.coordinator.protocol.Driver.sentTo;
import static dev.duet.coordinator.protocol.Driver.url;
import static org.assertj.core.api.Assertions.assertThat;

import dev.duet.coordinator.protocol.Action.AppendCommit;
import dev.duet.coordinator.protocol.Action.AppendEnd;
import dev.duet.coordinator.protocol.Action.Decided;
import dev.duet.coordinator.protocol.Action.Reply;
import dev.duet.coordinator.protocol.Action.Send;
import dev.duet.coordinator.protocol.Action.Target;
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

/**
 * Phase 1 and the decision, stepped by hand. Each test names the rule of
 * /work/shared/PROTOCOL-TRAPS.md ("trap N") or of the issue it checks.
 */
class CoordinatorPhase1Test {

  private final Driver d = new Driver();

  @Test
  @DisplayName("begin: ACTIVE, deadline = now + timeout (default when none is asked), nothing else happens")
  void beginAnswersActiveWithDeadline() {
    String id = d.begin(5_000L);
    TxView v = d.view(id);
    assertThat(v.state()).isEqualTo(TxState.ACTIVE);
    assertThat(v.outcome()).isNull();
    assertThat(v.deadline()).isEqualTo(d.now + 5_000);
    String dflt = d.begin();
    assertThat(d.view(dflt).deadline()).isEqualTo(d.now + Limits.TX_TIMEOUT_MS_DEFAULT);
  }

  @Test
  @DisplayName("begin with participants: enlisted at once, as if each had enlisted itself; the commit prepares them")
  void beginWithParticipantsEnlistsThem() {
    String id = TxIds.next(d.now);
    Answer begun = d.core.begin(id, null, List.of(new Target("a", url("a")), new Target("b", url("b"))), d.now);
    assertThat(begun.created()).isTrue();
    assertThat(d.view(id).participants()).extracting(p -> p.name() + " " + p.url())
        .containsExactly("a " + url("a"), "b " + url("b"));
    Answer again = d.enlist(id, "a");
    assertThat(again.isRejection()).as("a participant enlisting itself again is welcome").isFalse();
    assertThat(again.created()).isFalse();
    assertThat(d.core.enlist(id, "b", "http://elsewhere.test/tx", d.now).errorCode())
        .isEqualTo(ErrorCodes.PARTICIPANT_CONFLICT);
    assertThat(d.take()).as("begin and enlist send nothing").isEmpty();
    assertThat(d.core.commit(id, d.nextRequestId(), false, d.now)).as("parked until decided").isNull();
    assertThat(sentTo(d.take(), Send.Kind.PREPARE)).containsExactly("a", "b");
  }

  @Test
  @DisplayName("enlist is idempotent per name: 201, then 200; another url under the same name conflicts")
  void enlistIsIdempotentPerName() {
    String id = d.begin();
    assertThat(d.enlist(id, "a").created()).isTrue();
    Answer again = d.enlist(id, "a");
    assertThat(again.isRejection()).isFalse();
    assertThat(again.created()).isFalse();
    Answer other = d.core.enlist(id, "a", "http://elsewhere.test/tx", d.now);
    assertThat(other.errorCode()).isEqualTo(ErrorCodes.PARTICIPANT_CONFLICT);
    assertThat(d.view(id).participants()).singleElement()
        .satisfies(p -> assertThat(p.url()).isEqualTo(url("a")));
    assertThat(d.take()).isEmpty();
  }

  @Test
  @DisplayName("presumed abort: phase 1 writes nothing to the log until every vote is in")
  void noAppendCommitBeforeEveryVoteIsIn() {
    String id = d.beginWith("a", "b", "c");
    long rid = d.nextRequestId();
    assertThat(d.core.commit(id, rid, false, d.now)).as("parked until decided").isNull();
    List<Action> out = d.take();
    assertThat(out).allMatch(a -> a instanceof Send s && s.kind() == Send.Kind.PREPARE);
    assertThat(sentTo(out, Send.Kind.PREPARE)).containsExactly("a", "b", "c");
    assertThat(d.view(id).state()).isEqualTo(TxState.PREPARING);

    d.vote(id, "a", Vote.PREPARED);
    d.vote(id, "b", Vote.PREPARED);
    assertThat(d.take()).as("two of three votes: nothing").isEmpty();
    d.vote(id, "c", Vote.PREPARED);
    out = d.take();
    assertThat(out).singleElement().isInstanceOf(AppendCommit.class);
    AppendCommit c = (AppendCommit) out.get(0);
    assertThat(c.txId()).isEqualTo(id);
    assertThat(c.participants()).containsExactly(
        new Target("a", url("a")), new Target("b", url("b")), new Target("c", url("c")));
  }

  @Test
  @DisplayName("trap 2: no COMMIT to any participant and no client reply before commitDurable")
  void nothingHearsCommitBeforeTheDecisionIsDurable() {
    String id = d.beginWith("a", "b");
    long first = d.nextRequestId();
    d.core.commit(id, first, false, d.now);
    d.vote(id, "a", Vote.PREPARED);
    d.vote(id, "b", Vote.PREPARED);
    assertThat(of(d.take(), AppendCommit.class)).hasSize(1);

    // While the decision is being made durable: a second commit, a status query, time passing.
    long second = d.nextRequestId();
    assertThat(d.core.commit(id, second, false, d.now)).isNull();
    assertThat(d.view(id).state()).as("undecided until durable (trap 1)").isEqualTo(TxState.PREPARING);
    d.advance(5_000);
    assertThat(d.take()).as("no commit, no reply, no abort before durable").isEmpty();

    d.core.commitDurable(id, d.now);
    List<Action> out = d.take();
    assertThat(sentTo(out, Send.Kind.COMMIT)).containsExactly("a", "b");
    assertThat(reply(out, first).answer().outcome()).isEqualTo(Outcome.COMMITTED);
    assertThat(reply(out, second).answer().outcome()).isEqualTo(Outcome.COMMITTED);
    assertThat(of(out, Decided.class)).singleElement()
        .satisfies(x -> assertThat(x.outcome()).isEqualTo(Outcome.COMMITTED));
    assertThat(d.view(id).state()).isEqualTo(TxState.COMMITTING);
  }

  @Test
  @DisplayName("presumed abort: an ABORT vote logs nothing, rolls back everybody else, names the voter")
  void abortVoteLogsNothing() {
    String id = d.beginWith("a", "b", "c");
    long rid = d.nextRequestId();
    d.core.commit(id, rid, false, d.now);
    d.take();
    d.vote(id, "a", Vote.PREPARED);
    d.core.voteReceived(id, "b", Vote.ABORT, "insufficient funds", d.now);
    List<Action> out = d.take();
    assertThat(of(out, AppendCommit.class)).isEmpty();
    assertThat(sentTo(out, Send.Kind.ROLLBACK)).as("the yes voter and the one not yet heard from")
        .containsExactlyInAnyOrder("a", "c");
    Answer a = reply(out, rid).answer();
    assertThat(a.outcome()).isEqualTo(Outcome.ABORTED);
    assertThat(a.message()).contains("'b'").contains("insufficient funds");
    assertThat(d.view(id).state()).isEqualTo(TxState.ABORTING);

    d.vote(id, "c", Vote.PREPARED); // c's vote crossed the rollback: counted, no second rollback
    assertThat(sentTo(d.take(), Send.Kind.ROLLBACK)).isEmpty();
    d.core.ackReceived(id, "a", AckStatus.ROLLED_BACK, null, d.now);
    d.core.ackReceived(id, "c", AckStatus.ROLLED_BACK, null, d.now);
    out = d.take();
    assertThat(of(out, AppendEnd.class)).as("no log write on abort, not even END").isEmpty();
    assertThat(d.view(id).state()).isEqualTo(TxState.ABORTED);
  }

  @Test
  @DisplayName("a failed prepare call aborts, and that participant gets a rollback too (it may have prepared)")
  void failedPrepareCallAborts() {
    String id = d.beginWith("a", "b");
    long rid = d.nextRequestId();
    d.core.commit(id, rid, false, d.now);
    d.take();
    d.vote(id, "b", null);
    List<Action> out = d.take();
    assertThat(sentTo(out, Send.Kind.ROLLBACK)).containsExactlyInAnyOrder("a", "b");
    assertThat(reply(out, rid).answer().message()).contains("'b'").contains("connection refused");
    assertThat(of(out, AppendCommit.class)).isEmpty();
  }

  @Test
  @DisplayName("prepare timeout aborts, naming the participants that did not vote")
  void prepareTimeoutAborts() {
    String id = d.beginWith("a", "b");
    long rid = d.nextRequestId();
    d.core.commit(id, rid, false, d.now);
    d.take();
    d.vote(id, "a", Vote.PREPARED);
    d.advance(999);
    assertThat(d.take()).isEmpty();
    d.advance(1);
    List<Action> out = d.take();
    assertThat(reply(out, rid).answer().outcome()).isEqualTo(Outcome.ABORTED);
    assertThat(reply(out, rid).answer().message()).contains("prepare timed out").contains("'b'");
    assertThat(sentTo(out, Send.Kind.ROLLBACK)).containsExactlyInAnyOrder("a", "b");
    assertThat(of(out, AppendCommit.class)).isEmpty();
  }

  @Test
  @DisplayName("transaction timeout aborts an ACTIVE transaction and rolls back its participants")
  void deadlineAbortsActive() {
    String id = d.begin(200L);
    d.enlist(id, "a");
    d.advance(199);
    assertThat(d.take()).isEmpty();
    d.advance(1);
    List<Action> out = d.take();
    assertThat(sentTo(out, Send.Kind.ROLLBACK)).containsExactly("a");
    assertThat(d.view(id).state()).isEqualTo(TxState.ABORTING);
    assertThat(d.view(id).reason()).contains("timed out");
    assertThat(d.commit(id).outcome()).isEqualTo(Outcome.ABORTED);
    d.core.ackReceived(id, "a", AckStatus.ROLLED_BACK, null, d.now);
    assertThat(d.view(id).state()).isEqualTo(TxState.ABORTED);
  }

  @Test
  @DisplayName("the deadline is checked on every request even before the timer fires")
  void deadlineCheckedOnRequests() {
    String id = d.begin(200L);
    d.enlist(id, "a");
    d.now += 250; // no tick
    assertThat(d.enlist(id, "b").errorCode()).isEqualTo(ErrorCodes.TRANSACTION_NOT_ACTIVE);
    assertThat(sentTo(d.take(), Send.Kind.ROLLBACK)).containsExactly("a");
    assertThat(d.commit(id).outcome()).isEqualTo(Outcome.ABORTED);
  }

  @Test
  @DisplayName("commit or rollback of an expired transaction with no participants is ABORTED (no crash)")
  void expiredEmptyTransaction() {
    String id = d.begin(100L);
    d.now += 150; // the DEADLINE timer has not fired yet
    Answer c = d.commit(id);
    assertThat(c.isRejection()).isFalse();
    assertThat(c.outcome()).isEqualTo(Outcome.ABORTED);
    String id2 = d.begin(100L);
    d.now += 150;
    Answer r = d.rollback(id2);
    assertThat(r.outcome()).isEqualTo(Outcome.ABORTED);
    assertThat(d.view(id2).state()).isEqualTo(TxState.ABORTED);
  }

  @Test
  @DisplayName("the transaction timeout does not abort once phase 1 began; only the prepare timeout does")
  void deadlineStopsMatteringOncePreparing() {
    String id = d.core.begin(dev.duet.wire.TxIds.next(d.now), 200L, d.now).txId();
    d.enlist(id, "a");
    d.enlist(id, "b");
    d.commit(id);
    d.take();
    d.advance(500);
    assertThat(d.take()).isEmpty();
    d.vote(id, "a", Vote.PREPARED);
    d.vote(id, "b", Vote.PREPARED);
    assertThat(of(d.take(), AppendCommit.class)).hasSize(1);
  }

  @Test
  @DisplayName("read-only voters are left out of the log record and of phase 2")
  void readOnlyVotersLeftOutOfPhase2() {
    String id = d.beginWith("a", "b");
    long rid = d.nextRequestId();
    d.core.commit(id, rid, false, d.now);
    d.take();
    d.vote(id, "a", Vote.PREPARED);
    d.vote(id, "b", Vote.READ_ONLY);
    AppendCommit c = of(d.take(), AppendCommit.class).get(0);
    assertThat(c.participants()).extracting(Target::name).containsExactly("a");
    d.core.commitDurable(id, d.now);
    List<Action> out = d.take();
    assertThat(sentTo(out, Send.Kind.COMMIT)).containsExactly("a");
    d.core.ackReceived(id, "b", AckStatus.COMMITTED, null, d.now); // stray: b was never asked
    assertThat(d.take()).isEmpty();
    d.core.ackReceived(id, "a", AckStatus.COMMITTED, null, d.now);
    assertThat(of(d.take(), AppendEnd.class)).hasSize(1);
    assertThat(d.view(id).state()).isEqualTo(TxState.COMMITTED);
  }

  @Test
  @DisplayName("read-only voters get no rollback when the transaction aborts")
  void readOnlyVotersGetNoRollback() {
    String id = d.beginWith("a", "b");
    d.commit(id);
    d.take();
    d.vote(id, "a", Vote.READ_ONLY);
    d.vote(id, "b", Vote.ABORT);
    assertThat(sends(d.take(), Send.Kind.ROLLBACK)).isEmpty();
    assertThat(d.view(id).state()).as("nobody to tell").isEqualTo(TxState.ABORTED);
  }

  @Test
  @DisplayName("all read-only: COMMITTED at once, nothing logged, nobody told")
  void allReadOnly() {
    String id = d.beginWith("a", "b");
    long rid = d.nextRequestId();
    d.core.commit(id, rid, false, d.now);
    d.take();
    d.vote(id, "a", Vote.READ_ONLY);
    d.vote(id, "b", Vote.READ_ONLY);
    List<Action> out = d.take();
    assertThat(of(out, AppendCommit.class)).isEmpty();
    assertThat(of(out, Send.class)).isEmpty();
    assertThat(reply(out, rid).answer().outcome()).isEqualTo(Outcome.COMMITTED);
    assertThat(d.view(id).state()).isEqualTo(TxState.COMMITTED);
  }

  @Test
  @DisplayName("no participants: commit is COMMITTED at once with nothing sent or logged")
  void noParticipants() {
    String id = d.begin();
    Answer a = d.commit(id);
    assertThat(a.outcome()).isEqualTo(Outcome.COMMITTED);
    assertThat(of(d.take(), Send.class)).isEmpty();
    assertThat(d.view(id).state()).isEqualTo(TxState.COMMITTED);
  }

  @Test
  @DisplayName("trap 1: ACTIVE and PREPARING (incl. deciding and one-phase) are never reported as aborted")
  void undecidedNeverReportedAborted() {
    String active = d.beginWith("a", "b");
    assertUndecided(active, TxState.ACTIVE);

    String preparing = d.beginWith("a", "b");
    d.commit(preparing);
    assertUndecided(preparing, TxState.PREPARING);

    d.vote(preparing, "a", Vote.PREPARED);
    d.vote(preparing, "b", Vote.PREPARED); // now deciding: COMMIT record on its way to disk
    assertUndecided(preparing, TxState.PREPARING);

    String onePhase = d.beginWith("a");
    d.commit(onePhase);
    assertUndecided(onePhase, TxState.PREPARING);

    assertThat(d.core.status(dev.duet.wire.TxIds.next(d.now)).errorCode())
        .as("only an id the core does not know is presumed aborted")
        .isEqualTo(ErrorCodes.TRANSACTION_UNKNOWN);
  }

  private void assertUndecided(String id, TxState expected) {
    Answer a = d.core.status(id);
    assertThat(a.isRejection()).isFalse();
    assertThat(a.view().state()).isEqualTo(expected);
    assertThat(a.view().outcome()).isNull();
    assertThat(a.view().state().decided()).isFalse();
  }

  @Test
  @DisplayName("trap 7: one-phase commit sends commit without prepare and logs nothing")
  void onePhaseCommit() {
    String id = d.beginWith("a");
    long rid = d.nextRequestId();
    assertThat(d.core.commit(id, rid, false, d.now)).isNull();
    List<Action> out = d.take();
    assertThat(out).singleElement().satisfies(a -> {
      Send s = (Send) a;
      assertThat(s.kind()).isEqualTo(Send.Kind.COMMIT_ONE_PHASE);
      assertThat(s.participant()).isEqualTo("a");
    });
    d.core.ackReceived(id, "a", AckStatus.COMMITTED, null, d.now);
    out = d.take();
    assertThat(reply(out, rid).answer().outcome()).isEqualTo(Outcome.COMMITTED);
    assertThat(of(out, AppendCommit.class)).isEmpty();
    assertThat(of(out, AppendEnd.class)).isEmpty();
    assertThat(of(out, Decided.class)).singleElement().satisfies(x -> assertThat(x.onePhase()).isTrue());
    TxView v = d.view(id);
    assertThat(v.state()).isEqualTo(TxState.COMMITTED);
    assertThat(v.onePhase()).isTrue();
  }

  @Test
  @DisplayName("trap 7: one-phase commit without an answer is UNKNOWN, never ABORTED")
  void onePhaseWithoutAnswerIsUnknown() {
    String id = d.beginWith("a");
    long rid = d.nextRequestId();
    d.core.commit(id, rid, false, d.now);
    d.take();
    d.core.ackReceived(id, "a", null, "timeout", d.now);
    Answer a = reply(d.take(), rid).answer();
    assertThat(a.outcome()).isEqualTo(Outcome.UNKNOWN);
    assertThat(a.message()).contains("only the participant knows");
    TxView v = d.view(id);
    assertThat(v.state()).isEqualTo(TxState.UNKNOWN);
    assertThat(v.outcome()).isEqualTo(Outcome.UNKNOWN);
    Answer again = d.commit(id);
    assertThat(again.errorCode()).isEqualTo(ErrorCodes.OUTCOME_UNKNOWN);
    assertThat(again.outcome()).isEqualTo(Outcome.UNKNOWN);
    assertThat(d.rollback(id).outcome()).isEqualTo(Outcome.UNKNOWN);
    d.core.ackReceived(id, "a", AckStatus.COMMITTED, null, d.now); // too late to be counted
    assertThat(d.view(id).state()).isEqualTo(TxState.UNKNOWN);
  }

  @Test
  @DisplayName("one-phase commit the participant rolled back is ABORTED")
  void onePhaseRolledBack() {
    String id = d.beginWith("a");
    long rid = d.nextRequestId();
    d.core.commit(id, rid, false, d.now);
    d.take();
    d.core.ackReceived(id, "a", AckStatus.ROLLED_BACK, null, d.now);
    assertThat(reply(d.take(), rid).answer().outcome()).isEqualTo(Outcome.ABORTED);
    assertThat(d.view(id).state()).isEqualTo(TxState.ABORTED);
  }

  @Test
  @DisplayName("rollback during one-phase commit parks and learns the outcome: committed, or unknown")
  void rollbackDuringOnePhase() {
    String id = d.beginWith("a");
    d.commit(id);
    d.take();
    long rb = d.nextRequestId();
    assertThat(d.core.rollback(id, rb, d.now)).isNull();
    assertThat(sends(d.take(), Send.Kind.ROLLBACK)).as("the outcome is the participant's").isEmpty();
    d.core.ackReceived(id, "a", AckStatus.COMMITTED, null, d.now);
    Answer a = reply(d.take(), rb).answer();
    assertThat(a.errorCode()).isEqualTo(ErrorCodes.ALREADY_COMMITTED);
    assertThat(a.outcome()).isEqualTo(Outcome.COMMITTED);

    String id2 = d.beginWith("a");
    d.commit(id2);
    long rb2 = d.nextRequestId();
    d.core.rollback(id2, rb2, d.now);
    d.core.ackReceived(id2, "a", null, "reset", d.now);
    Answer b = reply(d.take(), rb2).answer();
    assertThat(b.errorCode()).isEqualTo(ErrorCodes.OUTCOME_UNKNOWN);
    assertThat(b.outcome()).isEqualTo(Outcome.UNKNOWN);
  }

  @Test
  @DisplayName("rollback of an ACTIVE or PREPARING transaction aborts it; again is the same answer")
  void rollbackAborts() {
    String id = d.beginWith("a", "b");
    Answer a = d.rollback(id);
    assertThat(a.outcome()).isEqualTo(Outcome.ABORTED);
    assertThat(sentTo(d.take(), Send.Kind.ROLLBACK)).containsExactly("a", "b");
    assertThat(d.rollback(id).outcome()).isEqualTo(Outcome.ABORTED);
    assertThat(d.take()).as("no second round of rollbacks").isEmpty();
    assertThat(d.commit(id).outcome()).as("commit after rollback").isEqualTo(Outcome.ABORTED);

    String p = d.beginWith("a", "b");
    long c = d.nextRequestId();
    d.core.commit(p, c, false, d.now);
    d.take();
    d.vote(p, "a", Vote.PREPARED);
    assertThat(d.rollback(p).outcome()).isEqualTo(Outcome.ABORTED);
    List<Action> out = d.take();
    assertThat(reply(out, c).answer().outcome()).as("the parked commit learns it").isEqualTo(Outcome.ABORTED);
    assertThat(sentTo(out, Send.Kind.ROLLBACK)).containsExactlyInAnyOrder("a", "b");
  }

  @Test
  @DisplayName("transaction ids are never reused (trap 3): begin with a known id is an invariant violation")
  void idsNeverReused() {
    String id = d.begin();
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> d.core.begin(id, null, d.now))
        .isInstanceOf(dev.duet.wire.Check.InvariantViolation.class);
  }

  @Test
  @DisplayName("a parked commit-and-wait request is answered when every participant acknowledged, not before")
  void commitAndWait() {
    String id = d.beginWith("a", "b");
    long rid = d.nextRequestId();
    d.core.commit(id, rid, true, d.now);
    d.vote(id, "a", Vote.PREPARED);
    d.vote(id, "b", Vote.PREPARED);
    d.core.commitDurable(id, d.now);
    assertThat(of(d.take(), Reply.class)).isEmpty();
    d.core.ackReceived(id, "a", AckStatus.COMMITTED, null, d.now);
    assertThat(of(d.take(), Reply.class)).isEmpty();
    long later = d.nextRequestId();
    assertThat(d.core.commit(id, later, true, d.now)).as("joins the wait").isNull();
    assertThat(d.core.commit(id, d.nextRequestId(), false, d.now).outcome()).isEqualTo(Outcome.COMMITTED);
    d.core.ackReceived(id, "b", AckStatus.COMMITTED, null, d.now);
    List<Action> out = d.take();
    assertThat(reply(out, rid).answer().outcome()).isEqualTo(Outcome.COMMITTED);
    assertThat(reply(out, later).answer().outcome()).isEqualTo(Outcome.COMMITTED);
  }
}

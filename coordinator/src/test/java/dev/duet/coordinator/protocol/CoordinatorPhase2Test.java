package dev.duet.coordinator.protocol;

import static dev.duet.coordinator.protocol.Driver.of;
import static dev.duet.coordinator.protocol.Driver.reply;
import static dev.duet.coordinator.protocol.Driver.sends;
import static dev.duet.coordinator.protocol.Driver.sentTo;
import static dev.duet.coordinator.protocol.Driver.url;
import static org.assertj.core.api.Assertions.assertThat;

import dev.duet.coordinator.protocol.Action.Alert;
import dev.duet.coordinator.protocol.Action.AppendCommit;
import dev.duet.coordinator.protocol.Action.AppendEnd;
import dev.duet.coordinator.protocol.Action.Reply;
import dev.duet.coordinator.protocol.Action.Send;
import dev.duet.coordinator.protocol.Action.Target;
import dev.duet.wire.AckStatus;
import dev.duet.wire.ErrorCodes;
import dev.duet.wire.Messages.ParticipantView;
import dev.duet.wire.Messages.TxView;
import dev.duet.wire.Outcome;
import dev.duet.wire.TxIds;
import dev.duet.wire.TxState;
import dev.duet.wire.Vote;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Phase 2, the decision log's answers, recovery, heuristics. Names the PROTOCOL-TRAPS rule checked. */
class CoordinatorPhase2Test {

  private final Driver d = new Driver();

  @Test
  @DisplayName("every acknowledgement in: END appended (not before), COMMITTED, a duplicate ack changes nothing")
  void endAfterEveryAck() {
    String id = d.committing("a", "b");
    d.core.ackReceived(id, "a", AckStatus.COMMITTED, null, d.now);
    d.core.ackReceived(id, "a", AckStatus.COMMITTED, null, d.now); // duplicate
    assertThat(d.take()).as("b has not acknowledged").isEmpty();
    assertThat(d.view(id).state()).isEqualTo(TxState.COMMITTING);
    d.core.ackReceived(id, "b", AckStatus.COMMITTED, null, d.now);
    assertThat(of(d.take(), AppendEnd.class)).singleElement()
        .satisfies(e -> assertThat(e.txId()).isEqualTo(id));
    d.core.ackReceived(id, "b", AckStatus.COMMITTED, null, d.now); // late duplicate
    assertThat(d.take()).isEmpty();
    TxView v = d.view(id);
    assertThat(v.state()).isEqualTo(TxState.COMMITTED);
    assertThat(v.participants()).allMatch(ParticipantView::acknowledged);
  }

  @Test
  @DisplayName("trap 5: phase-2 retries never stop; one STUCK alert after retryAlertAttempts; then it ends")
  void phase2RetriesNeverStop() {
    String id = d.committing("a", "b");
    d.core.ackReceived(id, "a", AckStatus.COMMITTED, null, d.now);
    int alerts = 0;
    int lastAttempt = 1;
    for (int failure = 1; failure <= 60; failure++) {
      d.core.ackReceived(id, "b", null, "connection refused", d.now);
      List<Action> out = d.take();
      alerts += of(out, Alert.class).size();
      if (failure == Driver.CONFIG.retryAlertAttempts()) {
        assertThat(of(out, Alert.class)).singleElement().satisfies(a -> {
          assertThat(a.kind()).isEqualTo(Alert.Kind.STUCK);
          assertThat(a.participant()).isEqualTo("b");
          assertThat(a.detail()).contains("still retrying");
        });
        assertThat(d.core.stats().stuck()).isEqualTo(1);
      }
      assertThat(sends(out, Send.Kind.COMMIT)).as("no resend before the backoff").isEmpty();
      d.advance(Driver.CONFIG.retryBackoffMsMax());
      List<Send> resent = sends(d.take(), Send.Kind.COMMIT);
      assertThat(resent).as("retry %d", failure).singleElement().satisfies(s -> {
        assertThat(s.participant()).isEqualTo("b");
        assertThat(s.url()).isEqualTo(url("b"));
      });
      assertThat(resent.get(0).attempt()).isEqualTo(lastAttempt + 1);
      lastAttempt = resent.get(0).attempt();
    }
    assertThat(alerts).as("alerted once, not on every failure").isEqualTo(1);
    TxView v = d.view(id);
    assertThat(v.state()).isEqualTo(TxState.COMMITTING);
    assertThat(v.participants().get(1).attempts()).isEqualTo(61);
    assertThat(v.participants().get(1).lastError()).isEqualTo("connection refused");
    assertThat(d.core.stats().retrying()).isEqualTo(1);

    d.core.ackReceived(id, "b", AckStatus.COMMITTED, null, d.now);
    assertThat(of(d.take(), AppendEnd.class)).hasSize(1);
    assertThat(d.core.stats().stuck()).isZero();
  }

  @Test
  @DisplayName("trap 5: retry backoff is exponential, capped at retryBackoffMsMax and jittered in [d/2, d]")
  void backoffCappedAndJittered() {
    ProtocolConfig c = Driver.CONFIG;
    for (int attempts = 1; attempts <= 100; attempts++) {
      long full = Math.min(c.retryBackoffMsMax(), c.retryBackoffMsMin() << Math.min(attempts - 1, 30));
      Set<Long> seen = new HashSet<>();
      for (int i = 0; i < 50; i++) {
        long b = d.core.backoffMs(attempts);
        assertThat(b).as("attempt %d", attempts).isBetween(full / 2, full);
        assertThat(b).isLessThanOrEqualTo(c.retryBackoffMsMax());
        seen.add(b);
      }
      assertThat(seen.size()).as("jittered at attempt %d", attempts).isGreaterThan(1);
    }
    Coordinator huge = new Coordinator(new ProtocolConfig(1000, 30_000, 3_600_000, 3, 10, 10, 10, 4),
        new SplittableRandom(1));
    assertThat(huge.backoffMs(Integer.MAX_VALUE)).as("no overflow at absurd attempt counts")
        .isBetween(1_800_000L, 3_600_000L);
  }

  @Test
  @DisplayName("trap 5: a retry timer made stale by a success sends nothing")
  void staleRetryTimer() {
    String id = d.committing("a", "b");
    d.core.ackReceived(id, "a", null, "timeout", d.now);
    d.core.ackReceived(id, "a", AckStatus.COMMITTED, null, d.now); // the reply of the first call after all
    d.advance(Driver.CONFIG.retryBackoffMsMax());
    assertThat(sends(d.take(), Send.Kind.COMMIT)).isEmpty();
  }

  @Test
  @DisplayName("trap 5: rollbacks of an aborted transaction are retried the same way")
  void rollbackRetried() {
    String id = d.beginWith("a", "b");
    d.rollback(id);
    d.take();
    d.core.ackReceived(id, "a", AckStatus.ROLLED_BACK, null, d.now);
    for (int i = 0; i < 5; i++) {
      d.core.ackReceived(id, "b", null, "503", d.now);
      d.advance(Driver.CONFIG.retryBackoffMsMax());
      assertThat(sentTo(d.take(), Send.Kind.ROLLBACK)).containsExactly("b");
    }
    assertThat(d.view(id).state()).isEqualTo(TxState.ABORTING);
    d.core.ackReceived(id, "b", AckStatus.ROLLED_BACK, null, d.now);
    assertThat(d.view(id).state()).isEqualTo(TxState.ABORTED);
  }

  @Test
  @DisplayName("heuristic outcome against COMMIT: recorded on the transaction, alerted, and the transaction still ends")
  void heuristicRollbackAgainstCommit() {
    String id = d.committing("a", "b");
    d.core.ackReceived(id, "a", AckStatus.COMMITTED, null, d.now);
    d.core.ackReceived(id, "b", AckStatus.HEURISTIC_ROLLBACK, null, d.now);
    List<Action> out = d.take();
    assertThat(of(out, Alert.class)).singleElement().satisfies(a -> {
      assertThat(a.kind()).isEqualTo(Alert.Kind.HEURISTIC);
      assertThat(a.participant()).isEqualTo("b");
      assertThat(a.status()).isEqualTo(AckStatus.HEURISTIC_ROLLBACK);
    });
    assertThat(of(out, AppendEnd.class)).hasSize(1);
    TxView v = d.view(id);
    assertThat(v.heuristic()).isTrue();
    assertThat(v.participants().get(1).ack()).isEqualTo(AckStatus.HEURISTIC_ROLLBACK);
    assertThat(v.state()).isEqualTo(TxState.COMMITTED);
  }

  @Test
  @DisplayName("heuristic outcome against ROLLBACK: a participant that says COMMITTED to a rollback is flagged")
  void heuristicCommitAgainstRollback() {
    String id = d.beginWith("a", "b");
    d.rollback(id);
    d.take();
    d.core.ackReceived(id, "a", AckStatus.COMMITTED, null, d.now);
    d.core.ackReceived(id, "b", AckStatus.HEURISTIC_MIXED, null, d.now);
    assertThat(of(d.take(), Alert.class)).extracting(Alert::participant).containsExactly("a", "b");
    assertThat(d.view(id).heuristic()).isTrue();
    assertThat(d.view(id).state()).isEqualTo(TxState.ABORTED);
  }

  @Test
  @DisplayName("commitAppendFailed, never written (back-pressure): the transaction aborts and rolls back")
  void appendRefusedAborts() {
    String id = d.beginWith("a", "b");
    long c = d.nextRequestId();
    d.core.commit(id, c, false, d.now);
    d.vote(id, "a", Vote.PREPARED);
    d.vote(id, "b", Vote.PREPARED);
    long rb = d.nextRequestId();
    d.core.rollback(id, rb, d.now);
    d.take();
    d.core.commitAppendFailed(id, true, "log queue full", d.now);
    List<Action> out = d.take();
    assertThat(sentTo(out, Send.Kind.ROLLBACK)).containsExactlyInAnyOrder("a", "b");
    assertThat(sends(out, Send.Kind.COMMIT)).isEmpty();
    assertThat(reply(out, c).answer().outcome()).isEqualTo(Outcome.ABORTED);
    assertThat(reply(out, rb).answer().outcome()).as("the parked rollback learns it").isEqualTo(Outcome.ABORTED);
  }

  @Test
  @DisplayName("trap 1: commitAppendFailed, maybe written: stays undecided (not aborted), nobody told commit; requests answered UNAVAILABLE")
  void appendFailedMaybeWritten() {
    String id = d.beginWith("a", "b");
    long c = d.nextRequestId();
    d.core.commit(id, c, false, d.now);
    d.vote(id, "a", Vote.PREPARED);
    d.vote(id, "b", Vote.PREPARED);
    d.take();
    d.core.commitAppendFailed(id, false, "fsync failed", d.now);
    List<Action> out = d.take();
    assertThat(of(out, Send.class)).as("neither commit nor rollback: the record may be on disk").isEmpty();
    Answer a = reply(out, c).answer();
    assertThat(a.errorCode()).isEqualTo(ErrorCodes.UNAVAILABLE);
    assertThat(a.outcome()).isNull();
    TxView v = d.view(id);
    assertThat(v.state()).isEqualTo(TxState.PREPARING);
    assertThat(v.outcome()).isNull();
    // Later requests are answered at once rather than parked for a durable that will not come.
    assertThat(d.commit(id).errorCode()).isEqualTo(ErrorCodes.UNAVAILABLE);
    assertThat(d.rollback(id).errorCode()).isEqualTo(ErrorCodes.UNAVAILABLE);
    d.advance(3_600_000);
    assertThat(d.take()).isEmpty();
    assertThat(d.view(id).state()).isEqualTo(TxState.PREPARING);
  }

  @Test
  @DisplayName("trap 5: recover() re-drives commit to every participant of a COMMIT record without END")
  void recoverRedrivesCommit() {
    String id = TxIds.next(d.now - 10_000);
    List<Target> targets = List.of(new Target("a", url("a")), new Target("b", url("b")));
    d.core.recover(id, d.now - 5_000, targets, d.now);
    d.core.recover(id, d.now - 5_000, targets, d.now); // a second recovery of the same record
    List<Action> out = d.take();
    assertThat(sentTo(out, Send.Kind.COMMIT)).containsExactly("a", "b");
    assertThat(of(out, Reply.class)).isEmpty();
    TxView v = d.view(id);
    assertThat(v.state()).isEqualTo(TxState.COMMITTING);
    assertThat(v.outcome()).isEqualTo(Outcome.COMMITTED);
    assertThat(d.commit(id).outcome()).isEqualTo(Outcome.COMMITTED);
    assertThat(d.rollback(id).errorCode()).isEqualTo(ErrorCodes.ALREADY_COMMITTED);
    assertThat(d.enlist(id, "c").errorCode()).isEqualTo(ErrorCodes.TRANSACTION_NOT_ACTIVE);
    d.vote(id, "a", Vote.PREPARED); // a late duplicate vote: never a rollback to a committing branch
    assertThat(d.take()).isEmpty();

    d.core.ackReceived(id, "a", AckStatus.COMMITTED, null, d.now);
    d.core.ackReceived(id, "b", null, "down", d.now);
    d.advance(Driver.CONFIG.retryBackoffMsMax());
    assertThat(sentTo(d.take(), Send.Kind.COMMIT)).containsExactly("b");
    d.core.ackReceived(id, "b", AckStatus.COMMITTED, null, d.now);
    assertThat(of(d.take(), AppendEnd.class)).hasSize(1);
    assertThat(d.view(id).state()).isEqualTo(TxState.COMMITTED);
  }

  @Test
  @DisplayName("rollback while deciding parks and then learns COMMITTED (409 ALREADY_COMMITTED)")
  void rollbackWhileDecidingLearnsCommit() {
    String id = d.beginWith("a", "b");
    long c = d.nextRequestId();
    d.core.commit(id, c, false, d.now);
    d.vote(id, "a", Vote.PREPARED);
    d.vote(id, "b", Vote.PREPARED);
    d.take();
    long rb = d.nextRequestId();
    assertThat(d.core.rollback(id, rb, d.now)).isNull();
    assertThat(d.take()).as("the rollback changes nothing while the COMMIT is on its way to disk").isEmpty();
    d.core.commitDurable(id, d.now);
    List<Action> out = d.take();
    Answer r = reply(out, rb).answer();
    assertThat(r.errorCode()).isEqualTo(ErrorCodes.ALREADY_COMMITTED);
    assertThat(r.outcome()).isEqualTo(Outcome.COMMITTED);
    assertThat(reply(out, c).answer().outcome()).isEqualTo(Outcome.COMMITTED);
    assertThat(sentTo(out, Send.Kind.COMMIT)).containsExactly("a", "b");
  }

  @Test
  @DisplayName("rollback after the decision is 409 ALREADY_COMMITTED and sends nothing")
  void rollbackAfterCommit() {
    String id = d.committing("a", "b");
    Answer r = d.rollback(id);
    assertThat(r.errorCode()).isEqualTo(ErrorCodes.ALREADY_COMMITTED);
    assertThat(d.take()).isEmpty();
    d.core.ackReceived(id, "a", AckStatus.COMMITTED, null, d.now);
    d.core.ackReceived(id, "b", AckStatus.COMMITTED, null, d.now);
    assertThat(d.rollback(id).errorCode()).as("also once ended").isEqualTo(ErrorCodes.ALREADY_COMMITTED);
    assertThat(d.commit(id).outcome()).isEqualTo(Outcome.COMMITTED);
  }

  @Test
  @DisplayName("recoverEnded(): a COMMIT that ended before the restart is answered COMMITTED, not presumed aborted")
  void recoverEndedRemembersTheCommit() {
    String id = TxIds.next(d.now - 10_000);
    d.core.recoverEnded(id, d.now - 5_000, List.of(new Target("a", url("a")), new Target("b", url("b"))), d.now);
    assertThat(d.take()).as("nothing to re-drive").isEmpty();
    TxView v = d.view(id);
    assertThat(v.state()).isEqualTo(TxState.COMMITTED);
    assertThat(d.commit(id).outcome()).isEqualTo(Outcome.COMMITTED);
    assertThat(d.rollback(id).errorCode()).isEqualTo(ErrorCodes.ALREADY_COMMITTED);
    d.vote(id, "a", Vote.PREPARED); // a stray duplicate vote: never a rollback for a committed transaction
    assertThat(d.take()).isEmpty();
    assertThat(d.core.stats().live()).isZero();
  }
}

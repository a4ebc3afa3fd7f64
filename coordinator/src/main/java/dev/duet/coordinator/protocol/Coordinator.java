package dev.duet.coordinator.protocol;

import dev.duet.coordinator.protocol.Action.Alert;
import dev.duet.coordinator.protocol.Action.AppendCommit;
import dev.duet.coordinator.protocol.Action.AppendEnd;
import dev.duet.coordinator.protocol.Action.Decided;
import dev.duet.coordinator.protocol.Action.Reply;
import dev.duet.coordinator.protocol.Action.Send;
import dev.duet.coordinator.protocol.Action.Target;
import dev.duet.coordinator.protocol.Transaction.Branch;
import dev.duet.coordinator.protocol.Transaction.Phase;
import dev.duet.coordinator.protocol.Transaction.Waiter;
import dev.duet.wire.AckStatus;
import dev.duet.wire.Check;
import dev.duet.wire.ErrorCodes;
import dev.duet.wire.Limits;
import dev.duet.wire.Messages.TxView;
import dev.duet.wire.Outcome;
import dev.duet.wire.TxIds;
import dev.duet.wire.TxState;
import dev.duet.wire.Vote;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.random.RandomGenerator;

/**
 * The two-phase commit protocol as a pure state machine. <b>This is where the commit decision is
 * made</b> ({@link #voteReceived} → {@link AppendCommit}) and where it is released ({@link
 * #commitDurable} → commit sent to participants, client answered).
 *
 * <p>Events go in through the public methods; what the shell must do comes out of {@link
 * #takeActions()}, in order. No threads, no I/O, no clock: time is the {@code nowMs} argument of
 * every event, and randomness (retry jitter) comes from the generator given at construction. One
 * instance is driven by one thread at a time.
 *
 * <p>Rules kept here, each with its PROTOCOL-TRAPS number:
 *
 * <ul>
 *   <li>Presumed abort: nothing is logged for an abort or before the decision; an id the core does
 *       not know is aborted, while ACTIVE and PREPARING are reported as undecided (1).
 *   <li>A COMMIT is sent to nobody before its log record is durable (2).
 *   <li>Late votes are answered with rollback; enlist after phase 1 began is refused; a second
 *       commit request joins the first (4).
 *   <li>Phase 2 is retried with capped, jittered backoff until acknowledged, never given up (5).
 *   <li>One-phase commit that gets no answer is UNKNOWN, never ABORTED (7).
 * </ul>
 */
public final class Coordinator {

  private final ProtocolConfig config;
  private final RandomGenerator random;
  private final Map<String, Transaction> live = new HashMap<>();
  /** Ended transactions, oldest first, kept for status queries until evicted. */
  private final LinkedHashMap<String, Transaction> finished = new LinkedHashMap<>();
  private final Timers timers = new Timers();
  private List<Action> outbox = new ArrayList<>();

  public Coordinator(ProtocolConfig config, RandomGenerator random) {
    this.config = config;
    this.random = random;
  }

  /** The actions produced since the last call, in the order the shell must execute them. */
  public List<Action> takeActions() {
    if (outbox.isEmpty()) return List.of();
    List<Action> out = outbox;
    outbox = new ArrayList<>();
    return out;
  }

  // ---------------------------------------------------------------- client requests

  /** Begins a transaction with the id the shell generated. */
  public Answer begin(String id, Long timeoutMs, long nowMs) {
    return begin(id, timeoutMs, List.of(), nowMs);
  }

  /**
   * Begins a transaction with {@code participants} already enlisted (names distinct, validated by
   * the shell), exactly as if each had enlisted itself right after the begin.
   */
  public Answer begin(String id, Long timeoutMs, List<Target> participants, long nowMs) {
    Check.that(participants.size() <= Limits.PARTICIPANTS_PER_TX_MAX, "participants at begin are bounded");
    Check.that(participants.stream().map(Target::name).distinct().count() == participants.size(),
        "participants at begin have distinct names");
    Check.that(TxIds.isValid(id), "begin takes a valid id");
    Check.that(!live.containsKey(id) && !finished.containsKey(id), "transaction ids are never reused");
    long timeout = ProtocolConfig.txTimeoutMs(timeoutMs);
    Check.that(timeout >= Limits.TX_TIMEOUT_MS_MIN && timeout <= Limits.TX_TIMEOUT_MS_MAX,
        "timeout validated by the caller");
    if (live.size() >= config.liveTransactionsMax()) {
      return Answer.rejected(null, ErrorCodes.OVERLOADED,
          "the coordinator holds " + live.size() + " unfinished transactions (liveTransactionsMax); retry later");
    }
    Transaction tx = new Transaction(id, nowMs, nowMs + timeout);
    for (Target t : participants) tx.branches.put(t.name(), new Branch(t.name(), t.url()));
    live.put(id, tx);
    timers.arm(tx.deadlineMs, id, Timers.Kind.DEADLINE, null, 0);
    return Answer.view(tx.view(), true);
  }

  public Answer enlist(String txId, String name, String url, long nowMs) {
    Transaction tx = live.get(txId);
    if (tx == null) tx = finished.get(txId); // ended but remembered: 409 below, not "unknown"
    if (tx == null) return notLive(txId);
    expireIfDue(tx, nowMs);
    if (tx.phase != Phase.ACTIVE) {
      return Answer.rejected(txId, ErrorCodes.TRANSACTION_NOT_ACTIVE,
          "transaction is " + tx.phase.wire + "; a participant can only enlist while it is ACTIVE"
              + " (roll back any local work done for it)", tx.phase.wire.outcome());
    }
    Branch existing = tx.branches.get(name);
    if (existing != null) {
      if (!existing.url.equals(url)) {
        return Answer.rejected(txId, ErrorCodes.PARTICIPANT_CONFLICT,
            "participant '" + name + "' is already enlisted with url " + existing.url);
      }
      return Answer.view(tx.view(), false);
    }
    if (tx.branches.size() >= Limits.PARTICIPANTS_PER_TX_MAX) {
      return Answer.rejected(txId, ErrorCodes.TOO_MANY_PARTICIPANTS,
          "a transaction takes at most " + Limits.PARTICIPANTS_PER_TX_MAX + " participants");
    }
    tx.branches.put(name, new Branch(name, url));
    return Answer.view(tx.view(), true);
  }

  /**
   * Asks to commit. Returns the answer at once when it is known, or null when the request is parked
   * and will be answered by a {@link Reply} action carrying {@code requestId}.
   */
  public Answer commit(String txId, long requestId, boolean waitForAcks, long nowMs) {
    Transaction tx = live.get(txId);
    if (tx == null) {
      tx = finished.get(txId);
      if (tx == null) return notLive(txId);
      return answerFinished(tx);
    }
    expireIfDue(tx, nowMs);
    // The expiry just now may have ended a transaction that had nothing to roll back.
    if (tx.phase.ended()) return answerFinished(tx);
    switch (tx.phase) {
      case ACTIVE -> {
        return startCommit(tx, requestId, waitForAcks, nowMs);
      }
      case PREPARING, ONE_PHASE, DECIDING -> {
        if (tx.logFailed) return decisionLogFailed(tx);
        return park(tx, requestId, waitForAcks ? Waiter.Kind.COMMIT_AND_WAIT : Waiter.Kind.COMMIT);
      }
      case COMMITTING -> {
        if (waitForAcks) return park(tx, requestId, Waiter.Kind.COMMIT_AND_WAIT);
        return Answer.outcome(txId, Outcome.COMMITTED, null);
      }
      case ABORTING -> {
        return Answer.outcome(txId, Outcome.ABORTED, tx.reason);
      }
      default -> throw new IllegalStateException("live transaction in phase " + tx.phase);
    }
  }

  /** Asks to roll back. Same contract as {@link #commit}. */
  public Answer rollback(String txId, long requestId, long nowMs) {
    Transaction tx = live.get(txId);
    if (tx == null) {
      tx = finished.get(txId);
      if (tx == null) return notLive(txId);
      return answerRollbackOfFinished(tx);
    }
    expireIfDue(tx, nowMs);
    if (tx.phase.ended()) return answerRollbackOfFinished(tx);
    switch (tx.phase) {
      case ACTIVE, PREPARING -> {
        abort(tx, "rolled back by the client", nowMs);
        return Answer.outcome(txId, Outcome.ABORTED, tx.reason);
      }
      case ONE_PHASE, DECIDING -> {
        if (tx.logFailed) return decisionLogFailed(tx);
        // The outcome is in flight; the rollback learns it with everybody else.
        return park(tx, requestId, Waiter.Kind.ROLLBACK);
      }
      case COMMITTING -> {
        return alreadyCommitted(txId);
      }
      case ABORTING -> {
        return Answer.outcome(txId, Outcome.ABORTED, tx.reason);
      }
      default -> throw new IllegalStateException("live transaction in phase " + tx.phase);
    }
  }

  /** The transaction's state, or the presumed-abort answer for an id the core does not know. */
  public Answer status(String txId) {
    Transaction tx = live.get(txId);
    if (tx == null) tx = finished.get(txId);
    if (tx == null) return Answer.unknown(txId);
    return Answer.view(tx.view(), false);
  }

  /** Transactions in id (= creation time) order after {@code afterId}, optionally of one state. */
  public List<TxView> list(TxState state, String afterId, int limit) {
    Check.that(limit > 0, "positive limit");
    List<Transaction> all = new ArrayList<>(live.size() + finished.size());
    for (Transaction tx : live.values()) collectIf(all, tx, state, afterId);
    for (Transaction tx : finished.values()) collectIf(all, tx, state, afterId);
    all.sort(Comparator.comparing(t -> t.id));
    List<TxView> out = new ArrayList<>(Math.min(limit, all.size()));
    for (int i = 0; i < all.size() && i < limit; i++) out.add(all.get(i).view());
    return out;
  }

  private static void collectIf(List<Transaction> out, Transaction tx, TxState state, String afterId) {
    if (state != null && tx.phase.wire != state) return;
    if (afterId != null && tx.id.compareTo(afterId) <= 0) return;
    out.add(tx);
  }

  // ---------------------------------------------------------------- participant answers

  /** A participant's vote arrived; {@code vote} null means the prepare call failed. */
  public void voteReceived(String txId, String participant, Vote vote, String detail, long nowMs) {
    Transaction tx = live.get(txId);
    if (tx == null || tx.phase != Phase.PREPARING) {
      lateVote(tx != null ? tx : finished.get(txId), txId, participant, vote);
      return;
    }
    Branch b = tx.branches.get(participant);
    if (b == null || b.vote != null) return; // not ours, or a duplicate: the first answer stands
    if (vote == null || vote == Vote.ABORT) {
      b.vote = vote; // a failed call leaves vote null: the branch may be prepared, so it gets a rollback
      String why = vote == null
          ? "prepare of participant '" + participant + "' failed: " + detail
          : "participant '" + participant + "' voted ABORT" + (detail == null ? "" : ": " + detail);
      abort(tx, why, nowMs);
      return;
    }
    b.vote = vote;
    for (Branch other : tx.branches.values()) {
      if (other.vote == null) return; // still waiting for votes
    }
    decide(tx, nowMs);
  }

  /** The COMMIT record of {@code txId} is durable: only now may anybody hear "commit". */
  public void commitDurable(String txId, long nowMs) {
    Transaction tx = live.get(txId);
    Check.that(tx != null && tx.phase == Phase.DECIDING, "commitDurable for a transaction deciding");
    tx.phase = Phase.COMMITTING;
    tx.decidedAtMs = nowMs;
    for (Branch b : tx.prepared()) {
      b.needsAck = true;
      send(tx, b, Send.Kind.COMMIT);
    }
    outbox.add(new Decided(tx.id, Outcome.COMMITTED, false, nowMs - tx.commitStartedAtMs));
    answerWaiters(tx, Outcome.COMMITTED);
  }

  /**
   * The COMMIT record could not be appended. If it was never queued ({@code neverWritten}: the log
   * refused it for back-pressure) the transaction can still abort. Otherwise it may or may not be
   * on disk: the outcome stays open and is settled by recovery after a restart; saying ABORTED now
   * could contradict a COMMIT that did reach the disk.
   */
  public void commitAppendFailed(String txId, boolean neverWritten, String error, long nowMs) {
    Transaction tx = live.get(txId);
    Check.that(tx != null && tx.phase == Phase.DECIDING, "commitAppendFailed for a transaction deciding");
    if (neverWritten) {
      abort(tx, "the coordinator could not log the decision: " + error, nowMs);
      return;
    }
    tx.reason = "decision log failed (" + error + "); the outcome is settled when the coordinator restarts";
    // No commitDurable will come in this process: later requests are answered at once, not parked.
    tx.logFailed = true;
    for (Waiter w : tx.waiters) outbox.add(new Reply(w.requestId(), decisionLogFailed(tx)));
    tx.waiters.clear();
  }

  /** A participant answered commit or rollback; {@code status} null means the call failed. */
  public void ackReceived(String txId, String participant, AckStatus status, String error, long nowMs) {
    Transaction tx = live.get(txId);
    if (tx == null) return; // ended meanwhile: a duplicate answer
    Branch b = tx.branches.get(participant);
    if (b == null) return;
    if (tx.phase == Phase.ONE_PHASE) {
      onePhaseAnswered(tx, b, status, error, nowMs);
      return;
    }
    if ((tx.phase != Phase.COMMITTING && tx.phase != Phase.ABORTING) || !b.needsAck || b.acked) return;
    if (status == null) {
      b.lastError = error;
      if (b.attempts >= config.retryAlertAttempts() && !b.stuckAlerted) {
        b.stuckAlerted = true;
        outbox.add(new Alert(tx.id, b.name, Alert.Kind.STUCK, null,
            b.attempts + " attempts to deliver " + phase2Word(tx) + " failed; still retrying: " + error));
      }
      timers.arm(nowMs + backoffMs(b.attempts), tx.id, Timers.Kind.RETRY, b.name, b.attempts);
      return;
    }
    b.acked = true;
    b.ack = status;
    b.lastError = null;
    boolean agrees = tx.phase == Phase.COMMITTING
        ? status == AckStatus.COMMITTED
        : status == AckStatus.ROLLED_BACK;
    if (!agrees) {
      // The participant finished the branch on its own. Recorded, counted and shouted, never dropped.
      tx.heuristic = true;
      outbox.add(new Alert(tx.id, b.name, Alert.Kind.HEURISTIC, status,
          "decision was " + (tx.phase == Phase.COMMITTING ? "COMMIT" : "ROLLBACK")
              + " but participant reports " + status));
    }
    if (tx.allAcked()) end(tx, nowMs);
  }

  // ---------------------------------------------------------------- recovery and time

  /**
   * Recovery found a COMMIT record without an END: re-drive phase 2 to its participants. Called for
   * every such record before the shell serves new traffic.
   */
  public void recover(String txId, long decidedAtMs, List<Target> participants, long nowMs) {
    Check.that(TxIds.isValid(txId), "recovered id is valid");
    Check.that(!participants.isEmpty(), "a COMMIT record names its participants");
    if (live.containsKey(txId)) return;
    long created = TxIds.timeMs(txId);
    Transaction tx = new Transaction(txId, created, created);
    tx.recovered = true;
    tx.phase = Phase.COMMITTING;
    tx.decidedAtMs = decidedAtMs;
    tx.reason = "recovered from the decision log";
    live.put(txId, tx);
    for (Target t : participants) {
      Branch b = new Branch(t.name(), t.url());
      b.vote = Vote.PREPARED;
      b.needsAck = true;
      tx.branches.put(b.name, b);
      send(tx, b, Send.Kind.COMMIT);
    }
  }

  /**
   * Recovery found a COMMIT that had ended before the restart: remember it as COMMITTED so that a
   * client asking after the restart hears the truth, not the presumed abort (kept as long as any
   * finished transaction, {@code finishedRetainMs} from now).
   */
  public void recoverEnded(String txId, long decidedAtMs, List<Target> participants, long nowMs) {
    Check.that(TxIds.isValid(txId), "recovered id is valid");
    if (live.containsKey(txId) || finished.containsKey(txId)) return;
    long created = TxIds.timeMs(txId);
    Transaction tx = new Transaction(txId, created, created);
    tx.recovered = true;
    tx.phase = Phase.COMMITTED;
    tx.decidedAtMs = decidedAtMs;
    tx.endedAtMs = nowMs;
    tx.reason = "recovered from the decision log";
    for (Target t : participants) {
      Branch b = new Branch(t.name(), t.url());
      b.vote = Vote.PREPARED;
      b.needsAck = true;
      b.acked = true;
      b.ack = AckStatus.COMMITTED;
      tx.branches.put(b.name, b);
    }
    finished.put(txId, tx);
    evictFinished(nowMs);
  }

  /** Time passed: fire whatever timers are due and forget old finished transactions. */
  public void tick(long nowMs) {
    for (Timers.Timer t : timers.due(nowMs)) {
      Transaction tx = live.get(t.txId());
      if (tx == null) continue; // ended: the timer is stale
      switch (t.kind()) {
        case DEADLINE -> expireIfDue(tx, nowMs);
        case PREPARE_TIMEOUT -> {
          if (tx.phase == Phase.PREPARING) abort(tx, "prepare timed out waiting for " + missingVotes(tx), nowMs);
        }
        case RETRY -> {
          Branch b = tx.branches.get(t.participant());
          boolean current = b != null && b.needsAck && !b.acked && b.attempts == t.attempt()
              && (tx.phase == Phase.COMMITTING || tx.phase == Phase.ABORTING);
          if (current) send(tx, b, tx.phase == Phase.COMMITTING ? Send.Kind.COMMIT : Send.Kind.ROLLBACK);
        }
      }
    }
    evictFinished(nowMs);
  }

  // ---------------------------------------------------------------- internals

  private Answer startCommit(Transaction tx, long requestId, boolean waitForAcks, long nowMs) {
    tx.commitStartedAtMs = nowMs;
    int n = tx.branches.size();
    if (n == 0) {
      // Nothing to commit anywhere: trivially committed, nothing to log.
      tx.phase = Phase.COMMITTED;
      tx.decidedAtMs = nowMs;
      outbox.add(new Decided(tx.id, Outcome.COMMITTED, false, -1));
      finish(tx, nowMs);
      return Answer.outcome(tx.id, Outcome.COMMITTED, null);
    }
    tx.waiters.add(new Waiter(requestId, waitForAcks ? Waiter.Kind.COMMIT_AND_WAIT : Waiter.Kind.COMMIT));
    if (n == 1) {
      // One-phase: no prepare, no log record; the participant alone decides (PROTOCOL-TRAPS 7).
      tx.phase = Phase.ONE_PHASE;
      tx.onePhase = true;
      Branch only = tx.branches.values().iterator().next();
      send(tx, only, Send.Kind.COMMIT_ONE_PHASE);
      return null;
    }
    tx.phase = Phase.PREPARING;
    timers.arm(nowMs + config.prepareTimeoutMs(), tx.id, Timers.Kind.PREPARE_TIMEOUT, null, 0);
    for (Branch b : tx.branches.values()) send(tx, b, Send.Kind.PREPARE);
    return null;
  }

  /** Every vote is in and none is ABORT. */
  private void decide(Transaction tx, long nowMs) {
    List<Branch> prepared = tx.prepared();
    if (prepared.isEmpty()) {
      // All read-only: nothing to tell anybody, nothing to log.
      tx.phase = Phase.COMMITTED;
      tx.decidedAtMs = nowMs;
      outbox.add(new Decided(tx.id, Outcome.COMMITTED, false, nowMs - tx.commitStartedAtMs));
      answerWaiters(tx, Outcome.COMMITTED);
      finish(tx, nowMs);
      return;
    }
    tx.phase = Phase.DECIDING;
    List<Target> targets = new ArrayList<>(prepared.size());
    for (Branch b : prepared) targets.add(new Target(b.name, b.url));
    outbox.add(new AppendCommit(tx.id, nowMs, targets));
  }

  private void abort(Transaction tx, String reason, long nowMs) {
    Check.that(tx.phase == Phase.ACTIVE || tx.phase == Phase.PREPARING || tx.phase == Phase.DECIDING,
        "only an undecided transaction aborts");
    boolean hadPhase1 = tx.phase != Phase.ACTIVE;
    tx.phase = Phase.ABORTING;
    tx.reason = reason;
    tx.decidedAtMs = nowMs;
    for (Branch b : tx.branches.values()) {
      // Read-only and ABORT voters have nothing left to undo; everyone else may hold work or a
      // prepared branch (an unanswered prepare may still have prepared it).
      if (b.vote == Vote.READ_ONLY || b.vote == Vote.ABORT) continue;
      b.needsAck = true;
      send(tx, b, Send.Kind.ROLLBACK);
    }
    outbox.add(new Decided(tx.id, Outcome.ABORTED, false,
        hadPhase1 && tx.commitStartedAtMs >= 0 ? nowMs - tx.commitStartedAtMs : -1));
    answerWaiters(tx, Outcome.ABORTED);
    if (tx.allAcked()) end(tx, nowMs);
  }

  private void onePhaseAnswered(Transaction tx, Branch b, AckStatus status, String error, long nowMs) {
    tx.decidedAtMs = nowMs;
    b.ack = status;
    b.acked = status != null;
    Outcome outcome;
    if (status == AckStatus.COMMITTED || status == AckStatus.HEURISTIC_COMMIT) {
      tx.phase = Phase.COMMITTED;
      b.vote = Vote.PREPARED;
      outcome = Outcome.COMMITTED;
    } else if (status == AckStatus.ROLLED_BACK || status == AckStatus.HEURISTIC_ROLLBACK) {
      tx.phase = Phase.ABORTED;
      b.vote = Vote.ABORT;
      tx.reason = "participant '" + b.name + "' could not commit (one-phase)";
      outcome = Outcome.ABORTED;
    } else {
      tx.phase = Phase.UNKNOWN;
      tx.heuristic = status == AckStatus.HEURISTIC_MIXED;
      b.lastError = error;
      tx.reason = "one-phase commit sent to '" + b.name + "' got no answer ("
          + (error != null ? error : status) + "); only the participant knows the outcome";
      outcome = Outcome.UNKNOWN;
    }
    outbox.add(new Decided(tx.id, outcome, true, nowMs - tx.commitStartedAtMs));
    answerWaiters(tx, outcome);
    finish(tx, nowMs);
  }

  private void lateVote(Transaction tx, String txId, String participant, Vote vote) {
    if (vote != Vote.PREPARED) return;
    if (tx != null && tx.phase != Phase.ABORTING && tx.phase != Phase.ABORTED) {
      // A duplicate of a vote already counted (DECIDING, COMMITTING, COMMITTED), or a vote no
      // prepare of ours asked for: never roll back a branch of a transaction that may commit.
      return;
    }
    // The transaction aborted (timeout, other vote) or is unknown: this prepared branch must not
    // stay in doubt holding locks (PROTOCOL-TRAPS 4).
    if (tx != null && tx.phase == Phase.ABORTING) {
      Branch b = tx.branches.get(participant);
      if (b == null) return;
      b.vote = Vote.PREPARED;
      if (!b.needsAck || b.acked) {
        b.needsAck = true;
        b.acked = false;
        send(tx, b, Send.Kind.ROLLBACK);
      }
      return;
    }
    Branch b = tx == null ? null : tx.branches.get(participant);
    if (tx != null && b == null) return;
    String url = b != null ? b.url : null;
    if (url != null) outbox.add(new Send(txId, participant, url, Send.Kind.ROLLBACK, 1));
    // An unknown transaction's participant url is unknown too: its own recovery will ask, hear
    // TRANSACTION_UNKNOWN and roll back.
  }

  private void end(Transaction tx, long nowMs) {
    boolean committed = tx.phase == Phase.COMMITTING;
    tx.phase = committed ? Phase.COMMITTED : Phase.ABORTED;
    tx.endedAtMs = nowMs;
    if (committed) outbox.add(new AppendEnd(tx.id));
    // Only commit-and-wait requests are still parked here.
    for (Waiter w : tx.waiters) {
      outbox.add(new Reply(w.requestId(), Answer.outcome(tx.id, committed ? Outcome.COMMITTED : Outcome.ABORTED, tx.reason)));
    }
    tx.waiters.clear();
    finish(tx, nowMs);
  }

  private void finish(Transaction tx, long nowMs) {
    Check.that(tx.phase.ended(), "only ended transactions are finished");
    if (tx.endedAtMs == null) tx.endedAtMs = nowMs;
    live.remove(tx.id);
    finished.put(tx.id, tx);
    evictFinished(nowMs);
  }

  private void evictFinished(long nowMs) {
    Iterator<Transaction> it = finished.values().iterator();
    while (it.hasNext()) {
      Transaction oldest = it.next();
      boolean tooMany = finished.size() > config.finishedRetainedMax();
      boolean tooOld = nowMs - oldest.endedAtMs > config.finishedRetainMs();
      if (!tooMany && !tooOld) break;
      it.remove();
    }
  }

  /** Answers parked requests at the decision; commit-and-wait keeps waiting for the acks. */
  private void answerWaiters(Transaction tx, Outcome outcome) {
    Iterator<Waiter> it = tx.waiters.iterator();
    while (it.hasNext()) {
      Waiter w = it.next();
      Answer a;
      if (w.kind() == Waiter.Kind.ROLLBACK) {
        a = outcome == Outcome.COMMITTED ? alreadyCommitted(tx.id)
            : outcome == Outcome.UNKNOWN ? Answer.rejected(tx.id, ErrorCodes.OUTCOME_UNKNOWN, tx.reason, Outcome.UNKNOWN)
            : Answer.outcome(tx.id, Outcome.ABORTED, tx.reason);
      } else if (w.kind() == Waiter.Kind.COMMIT_AND_WAIT && tx.phase == Phase.COMMITTING) {
        continue;
      } else {
        a = Answer.outcome(tx.id, outcome, outcome == Outcome.COMMITTED ? null : tx.reason);
      }
      outbox.add(new Reply(w.requestId(), a));
      it.remove();
    }
  }

  private Answer park(Transaction tx, long requestId, Waiter.Kind kind) {
    if (tx.waiters.size() >= config.waitersPerTxMax()) {
      return Answer.rejected(tx.id, ErrorCodes.OVERLOADED,
          tx.waiters.size() + " requests already wait on this transaction (waitersPerTxMax)");
    }
    tx.waiters.add(new Waiter(requestId, kind));
    return null;
  }

  private void expireIfDue(Transaction tx, long nowMs) {
    if (tx.phase == Phase.ACTIVE && nowMs >= tx.deadlineMs) {
      abort(tx, "transaction timed out after " + (tx.deadlineMs - tx.createdAtMs) + " ms", nowMs);
    }
  }

  private void send(Transaction tx, Branch b, Send.Kind kind) {
    if (kind == Send.Kind.COMMIT) {
      Check.that(tx.phase == Phase.COMMITTING, "commit is sent only after the decision is durable");
    }
    if (kind == Send.Kind.COMMIT || kind == Send.Kind.ROLLBACK) b.attempts++;
    outbox.add(new Send(tx.id, b.name, b.url, kind, Math.max(1, b.attempts)));
  }

  /** Capped exponential backoff with jitter in [delay/2, delay]: retries spread, never stop. */
  long backoffMs(int attempts) {
    int shift = Math.min(Math.max(attempts - 1, 0), 30);
    long delay = Math.min(config.retryBackoffMsMax(), config.retryBackoffMsMin() << shift);
    if (delay <= 0) delay = config.retryBackoffMsMax();
    return delay / 2 + random.nextLong(delay / 2 + 1);
  }

  private Answer notLive(String txId) {
    return Answer.unknown(txId);
  }

  private Answer answerFinished(Transaction tx) {
    return switch (tx.phase) {
      case COMMITTED -> Answer.outcome(tx.id, Outcome.COMMITTED, null);
      case ABORTED -> Answer.outcome(tx.id, Outcome.ABORTED, tx.reason);
      case UNKNOWN -> Answer.rejected(tx.id, ErrorCodes.OUTCOME_UNKNOWN, tx.reason, Outcome.UNKNOWN);
      default -> throw new IllegalStateException("finished transaction in phase " + tx.phase);
    };
  }

  private Answer answerRollbackOfFinished(Transaction tx) {
    return switch (tx.phase) {
      case COMMITTED -> alreadyCommitted(tx.id);
      case ABORTED -> Answer.outcome(tx.id, Outcome.ABORTED, tx.reason);
      case UNKNOWN -> Answer.rejected(tx.id, ErrorCodes.OUTCOME_UNKNOWN, tx.reason, Outcome.UNKNOWN);
      default -> throw new IllegalStateException("finished transaction in phase " + tx.phase);
    };
  }

  private static Answer decisionLogFailed(Transaction tx) {
    return Answer.rejected(tx.id, ErrorCodes.UNAVAILABLE, tx.reason);
  }

  private static Answer alreadyCommitted(String txId) {
    return Answer.rejected(txId, ErrorCodes.ALREADY_COMMITTED,
        "transaction is decided COMMIT; it can no longer roll back", Outcome.COMMITTED);
  }

  private static String missingVotes(Transaction tx) {
    List<String> names = new ArrayList<>();
    for (Branch b : tx.branches.values()) if (b.vote == null) names.add("'" + b.name + "'");
    return String.join(", ", names);
  }

  private static String phase2Word(Transaction tx) {
    return tx.phase == Phase.COMMITTING ? "commit" : "rollback";
  }

  // ---------------------------------------------------------------- observation

  /** Counts for metrics and health. */
  public record Stats(int live, int finished, int committing, int aborting, int retrying, int stuck, int timers) {}

  public Stats stats() {
    int committing = 0, aborting = 0, retrying = 0, stuck = 0;
    for (Transaction tx : live.values()) {
      if (tx.phase == Phase.COMMITTING) committing++;
      if (tx.phase == Phase.ABORTING) aborting++;
      for (Branch b : tx.branches.values()) {
        if (b.needsAck && !b.acked && b.attempts > 1) retrying++;
        if (b.needsAck && !b.acked && b.stuckAlerted) stuck++; // the same participants the STUCK alert named
      }
    }
    return new Stats(live.size(), finished.size(), committing, aborting, retrying, stuck, timers.size());
  }
}

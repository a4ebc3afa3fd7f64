package dev.duet.coordinator.protocol;

import dev.duet.wire.AckStatus;
import dev.duet.wire.Messages.ParticipantView;
import dev.duet.wire.Messages.TxView;
import dev.duet.wire.TxState;
import dev.duet.wire.Vote;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** One transaction as the core sees it. Mutated only by {@link Coordinator}. */
final class Transaction {

  /**
   * Finer than the wire's {@link TxState}: ONE_PHASE and DECIDING are reported as PREPARING,
   * because until the COMMIT record is durable the outcome is still open (PROTOCOL-TRAPS 1).
   */
  enum Phase {
    ACTIVE(TxState.ACTIVE),
    PREPARING(TxState.PREPARING),
    ONE_PHASE(TxState.PREPARING),
    DECIDING(TxState.PREPARING),
    COMMITTING(TxState.COMMITTING),
    COMMITTED(TxState.COMMITTED),
    ABORTING(TxState.ABORTING),
    ABORTED(TxState.ABORTED),
    UNKNOWN(TxState.UNKNOWN);

    final TxState wire;

    Phase(TxState wire) {
      this.wire = wire;
    }

    boolean ended() {
      return this == COMMITTED || this == ABORTED || this == UNKNOWN;
    }
  }

  /** A participant's part in this transaction. */
  static final class Branch {
    final String name;
    final String url;
    Vote vote;
    /** Phase 2 (commit or rollback) must reach this branch. */
    boolean needsAck;
    boolean acked;
    AckStatus ack;
    int attempts;
    String lastError;
    boolean stuckAlerted;

    Branch(String name, String url) {
      this.name = name;
      this.url = url;
    }
  }

  /** A client request parked until the transaction decides or ends. */
  record Waiter(long requestId, Kind kind) {
    enum Kind {
      /** Answer at the decision. */
      COMMIT,
      /** Answer once every participant acknowledged (commit ?wait=true). */
      COMMIT_AND_WAIT,
      ROLLBACK
    }
  }

  final String id;
  final long createdAtMs;
  final long deadlineMs;
  final Map<String, Branch> branches = new LinkedHashMap<>();
  final List<Waiter> waiters = new ArrayList<>(2);
  Phase phase = Phase.ACTIVE;
  String reason;
  long commitStartedAtMs = -1;
  Long decidedAtMs;
  Long endedAtMs;
  boolean heuristic;
  boolean onePhase;
  boolean recovered;
  /** The COMMIT append failed and may be on disk: undecided until a restart settles it. */
  boolean logFailed;

  Transaction(String id, long createdAtMs, long deadlineMs) {
    this.id = id;
    this.createdAtMs = createdAtMs;
    this.deadlineMs = deadlineMs;
  }

  List<Branch> prepared() {
    List<Branch> out = new ArrayList<>(branches.size());
    for (Branch b : branches.values()) {
      if (b.vote == Vote.PREPARED) out.add(b);
    }
    return out;
  }

  boolean allAcked() {
    for (Branch b : branches.values()) {
      if (b.needsAck && !b.acked) return false;
    }
    return true;
  }

  TxView view() {
    List<ParticipantView> ps = new ArrayList<>(branches.size());
    for (Branch b : branches.values()) {
      ps.add(new ParticipantView(b.name, b.url, b.vote, b.acked, b.ack, b.attempts, b.lastError));
    }
    return new TxView(id, phase.wire, phase.wire.outcome(), reason, createdAtMs, deadlineMs,
        decidedAtMs, endedAtMs, heuristic, onePhase, ps);
  }
}

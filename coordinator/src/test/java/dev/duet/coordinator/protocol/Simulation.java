package dev.duet.coordinator.protocol;

import dev.duet.coordinator.protocol.Action.Alert;
import dev.duet.coordinator.protocol.Action.AppendCommit;
import dev.duet.coordinator.protocol.Action.AppendEnd;
import dev.duet.coordinator.protocol.Action.Decided;
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
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * A deterministic simulation of one coordinator core, its decision log and N participants, in the
 * style of TigerBeetle's VOPR and FoundationDB's simulator (STYLE.md §3). Everything random comes
 * from one seed, so a failure replays exactly.
 *
 * <p>Faults while {@link #faults} is on: messages delayed, reordered, duplicated and dropped (a
 * dropped call is reported to the core as failed after {@link #CALL_TIMEOUT_MS}); log appends
 * refused (back-pressure) or failing with an I/O error (the record may or may not have reached the
 * disk; the coordinator is then restarted); coordinator crashes, which lose the core, every reply
 * not yet delivered and every append not yet durable, and rebuild the core from the durable COMMIT
 * records without END as the real recovery does; participant crashes, which lose active branches
 * but keep prepared ones. Clients begin, enlist, commit, roll back, duplicate requests and abandon
 * transactions.
 *
 * <p>Participants follow PROTOCOL-TRAPS 9–13: they vote PREPARED only with the branch durable, never
 * finish a prepared branch alone, answer success to commit/rollback of an unknown branch, vote
 * ABORT on prepare of an unknown one, roll back idle active branches, and resolve prepared branches
 * in doubt by asking {@link Coordinator#status} (404 TRANSACTION_UNKNOWN: roll back; COMMITTING or
 * COMMITTED: commit; ABORTING or ABORTED: roll back; anything else: ask again later).
 *
 * <p>Checkers: atomicity (no transaction committed at one participant and rolled back at another;
 * a prepared branch commits only after its COMMIT record is durable; a client told COMMITTED for a
 * transaction that prepared anywhere implies a durable COMMIT; a client is never told two
 * different outcomes, nor an outcome contradicted by a participant; a durable COMMIT is never
 * answered as unknown/aborted) and liveness ({@link #settle}: with faults off and time passing,
 * every prepared branch ends, every COMMIT gets its END, and the core holds no live transaction
 * except those with a participant that never answers).
 */
final class Simulation {

  static final ProtocolConfig CONFIG = new ProtocolConfig(
      500, // prepareTimeoutMs
      20, // retryBackoffMsMin
      2_000, // retryBackoffMsMax
      5, // retryAlertAttempts
      10_000, // liveTransactionsMax
      1_000_000, // finishedRetainedMax: nothing forgotten within a run, so answers can be checked
      24 * 3_600_000L, // finishedRetainMs
      8); // waitersPerTxMax

  /** A call with no answer is reported failed after this long, like the HTTP client's timeout. */
  static final long CALL_TIMEOUT_MS = 300;
  /** Participants roll back active (unprepared) branches idle this long (PROTOCOL-TRAPS 10). */
  static final long ACTIVE_BRANCH_TIMEOUT_MS = 4_000;
  /**
   * A prepared branch older than this asks the coordinator for the outcome (PROTOCOL-TRAPS 13); each
   * participant draws its own, some impatient enough to ask while phase 1 is still running.
   */
  static final long IN_DOUBT_AFTER_MS_MAX = 1_500;
  static final long PARTICIPANT_TICK_MS = 100;
  static final int OPEN_CLIENT_TXS_MAX = 24;
  static final int TRACE_LINES = 60;

  /** A checker found a broken rule. */
  static final class Violation extends AssertionError {
    Violation(String message) {
      super(message);
    }
  }

  // ---------------------------------------------------------------- world

  final long seed;
  private final SplittableRandom rnd;
  long now = 1_700_000_000_000L;
  private int epoch;
  private Coordinator core;
  boolean faults = true;
  private final PriorityQueue<Event> events =
      new PriorityQueue<>((a, b) -> a.at != b.at ? Long.compare(a.at, b.at) : Long.compare(a.seq, b.seq));
  private long eventSeq;
  private final List<Participant> participants = new ArrayList<>();
  private final ArrayDeque<String> trace = new ArrayDeque<>();

  // decision log
  private final Map<String, AppendCommit> durableCommits = new LinkedHashMap<>();
  /** txId → epoch in which its END became durable. */
  private final Map<String, Integer> durableEnds = new LinkedHashMap<>();
  private boolean logDead;

  // clients
  private final Map<String, ClientTx> clientTxs = new LinkedHashMap<>();
  private final Map<Long, ClientTx> parked = new LinkedHashMap<>();
  private long requestIds;
  private final Set<String> everPrepared = new HashSet<>();

  // counters, for the test's sanity checks that the faults really happened
  int coordinatorCrashes;
  int participantCrashes;
  int committedTold;
  int abortedTold;
  int unknownTold;
  int heuristicAlerts;
  int stuckAlerts;

  Simulation(long seed, int participantCount, boolean withBlackHole) {
    this.seed = seed;
    this.rnd = new SplittableRandom(seed);
    for (int i = 0; i < participantCount; i++) {
      participants.add(new Participant("p" + i, withBlackHole && i == participantCount - 1));
    }
    core = new Coordinator(CONFIG, new SplittableRandom(rnd.nextLong()));
    for (Participant p : participants) {
      long first = now + rnd.nextLong(PARTICIPANT_TICK_MS);
      schedule(first, -1, () -> participantTick(p));
    }
  }

  // ---------------------------------------------------------------- driving

  /** One step of the fault phase: time passes, due events run, clients and faults act. */
  void step() {
    advance(1 + rnd.nextLong(40));
    if (!faults) return;
    if (clientTxs.size() < OPEN_CLIENT_TXS_MAX && rnd.nextInt(100) < 35) newClientTx();
    for (ClientTx tx : new ArrayList<>(clientTxs.values())) {
      if (tx.nextAt <= now) clientAct(tx);
    }
    if (rnd.nextInt(1000) < 3) crashCoordinator("random crash");
    if (rnd.nextInt(1000) < 6) {
      Participant p = participants.get(rnd.nextInt(participants.size()));
      if (p.up() && !p.blackHole) crashParticipant(p);
    }
  }

  /**
   * Liveness: faults stop, crashed parts come back, time passes. Afterwards every branch must be
   * finished and the core must hold nothing live but transactions of a never-answering participant.
   */
  void settle(long forMs) {
    faults = false;
    if (logDead) crashCoordinator("restart after the log failed");
    for (Participant p : participants) p.downUntil = Math.min(p.downUntil, now);
    long end = now + forMs;
    while (now < end) advance(50);
    checkAtEnd();
  }

  private void advance(long ms) {
    long target = now + ms;
    while (!events.isEmpty() && events.peek().at <= target) {
      Event e = events.poll();
      now = Math.max(now, e.at);
      if (e.epoch >= 0 && e.epoch != epoch) continue; // lost with the crashed coordinator
      e.run.run();
    }
    now = target;
    core.tick(now);
    drain();
  }

  private void schedule(long at, int boundEpoch, Runnable r) {
    events.add(new Event(at, eventSeq++, boundEpoch, r));
  }

  private record Event(long at, long seq, int epoch, Runnable run) {}

  private long delay() {
    int r = rnd.nextInt(100);
    if (!faults || r < 80) return 1 + rnd.nextLong(20);
    if (r < 95) return 20 + rnd.nextLong(200);
    return 200 + rnd.nextLong(600); // slower than the call timeout
  }

  private boolean chance(int percent) {
    return faults && rnd.nextInt(100) < percent;
  }

  // ---------------------------------------------------------------- the coordinator's actions

  private void drain() {
    for (Action a : core.takeActions()) {
      if (a instanceof Send s) send(s);
      else if (a instanceof AppendCommit c) appendCommit(c);
      else if (a instanceof AppendEnd e) appendEnd(e);
      else if (a instanceof Reply r) reply(r);
      else if (a instanceof Alert al) {
        if (al.kind() == Alert.Kind.HEURISTIC) heuristicAlerts++;
        else stuckAlerts++;
      } else if (!(a instanceof Decided)) {
        throw new IllegalStateException("unknown action " + a);
      }
    }
  }

  /** One participant call: request over the network, handling, reply back; each can go wrong. */
  private void send(Send s) {
    note("send " + s.kind() + " " + s.txId() + " → " + s.participant() + " #" + s.attempt());
    Participant p = participant(s.participant());
    if (!p.url.equals(s.url())) fail("core sent " + s.participant() + "'s call to " + s.url());
    int e = epoch;
    long sentAt = now;
    if (chance(5)) { // the request is lost on the way
      callFailed(s, e, sentAt, "request lost");
      return;
    }
    deliverRequest(s, p, e, sentAt, true);
    if (chance(3)) deliverRequest(s, p, e, sentAt, false); // the network delivers it twice
  }

  private void deliverRequest(Send s, Participant p, int e, long sentAt, boolean reportFailure) {
    // Requests already on the wire are not bound to the coordinator's life: they may arrive after
    // it crashed (a prepare that lands then leaves a branch in doubt, which must resolve).
    schedule(now + delay(), -1, () -> {
      if (!p.reachable()) {
        if (reportFailure) callFailed(s, e, sentAt, p.blackHole ? "no answer" : "connection refused");
        return;
      }
      Object result = p.handle(s);
      long back = now + delay();
      if (chance(5) || back - sentAt > CALL_TIMEOUT_MS) { // the reply is lost or too late
        if (reportFailure) callFailed(s, e, sentAt, "reply lost or late");
        if (chance(30)) schedule(back, e, () -> answerCore(s, result)); // ... and shows up anyway
        return;
      }
      schedule(back, e, () -> answerCore(s, result));
      if (chance(3)) schedule(now + delay(), e, () -> answerCore(s, result)); // duplicated reply
    });
  }

  private void callFailed(Send s, int e, long sentAt, String why) {
    schedule(Math.max(now, sentAt + CALL_TIMEOUT_MS), e, () -> answerCore(s, why));
  }

  /** {@code result} is a Vote or AckStatus, or a String saying why the call failed. */
  private void answerCore(Send s, Object result) {
    note("answer " + s.kind() + " " + s.txId() + " ← " + s.participant() + ": " + result);
    if (s.kind() == Send.Kind.PREPARE) {
      Vote v = result instanceof Vote vote ? vote : null;
      core.voteReceived(s.txId(), s.participant(), v, v == null ? (String) result : null, now);
    } else {
      AckStatus st = result instanceof AckStatus ack ? ack : null;
      core.ackReceived(s.txId(), s.participant(), st, st == null ? (String) result : null, now);
    }
    drain();
  }

  private void appendCommit(AppendCommit c) {
    note("append COMMIT " + c.txId() + " " + c.participants());
    int e = epoch;
    if (logDead) {
      schedule(now + 1, e, () -> appendFailed(c.txId(), false, "log is dead"));
      return;
    }
    if (chance(2)) { // back-pressure: refused before it was queued
      schedule(now + 1 + rnd.nextLong(5), e, () -> appendFailed(c.txId(), true, "log queue full"));
      return;
    }
    if (rnd.nextInt(1000) < (faults ? 3 : 0)) {
      // fsync failed: the bytes may be on disk or not. The log refuses everything from now on, and
      // an operator restarts the coordinator a little later.
      logDead = true;
      if (rnd.nextBoolean()) makeDurable(c);
      schedule(now + 1 + rnd.nextLong(5), e, () -> appendFailed(c.txId(), false, "fsync failed"));
      schedule(now + 50 + rnd.nextLong(300), e, () -> crashCoordinator("restart after fsync failure"));
      return;
    }
    long durableAt = now + 1 + rnd.nextLong(faults ? 30 : 5);
    schedule(durableAt, e, () -> {
      if (logDead) { // the writer died before this batch's fsync
        appendFailed(c.txId(), false, "log died");
        return;
      }
      makeDurable(c);
      // The completion reaches the core a little later; a crash in between loses only the news.
      schedule(now + rnd.nextLong(4), e, () -> {
        note("durable " + c.txId());
        core.commitDurable(c.txId(), now);
        drain();
      });
    });
  }

  private void makeDurable(AppendCommit c) {
    if (durableCommits.putIfAbsent(c.txId(), c) != null) fail("COMMIT of " + c.txId() + " appended twice");
  }

  private void appendFailed(String txId, boolean neverWritten, String why) {
    note("append failed " + txId + " neverWritten=" + neverWritten + ": " + why);
    core.commitAppendFailed(txId, neverWritten, why, now);
    drain();
  }

  private void appendEnd(AppendEnd e) {
    note("append END " + e.txId());
    if (!durableCommits.containsKey(e.txId())) fail("END for " + e.txId() + " without a durable COMMIT");
    int ep = epoch;
    schedule(now + 1 + rnd.nextLong(50), ep, () -> {
      if (!logDead) durableEnds.put(e.txId(), ep);
    });
  }

  private void reply(Reply r) {
    ClientTx tx = parked.remove(r.requestId());
    if (tx == null) fail("reply to request " + r.requestId() + " that is not parked");
    clientHeard(tx, r.answer(), "parked request " + r.requestId());
  }

  // ---------------------------------------------------------------- crashes

  private void crashCoordinator(String why) {
    note("CRASH coordinator (" + why + ")");
    coordinatorCrashes++;
    epoch++;
    logDead = false;
    parked.clear(); // their connections died with the process
    core.takeActions(); // whatever it meant to do is lost
    core = new Coordinator(CONFIG, new SplittableRandom(rnd.nextLong()));
    // Recovery: every durable COMMIT without a durable END goes back to phase 2; ended ones are
    // remembered as COMMITTED (the log keeps them for a while; a run is shorter than that while).
    for (AppendCommit c : durableCommits.values()) {
      if (!durableEnds.containsKey(c.txId())) core.recover(c.txId(), c.decidedAtMs(), c.participants(), now);
      else core.recoverEnded(c.txId(), c.decidedAtMs(), c.participants(), now);
    }
    drain();
  }

  private void crashParticipant(Participant p) {
    note("CRASH participant " + p.name);
    participantCrashes++;
    p.downUntil = now + 50 + rnd.nextLong(1_500);
    for (Map.Entry<String, Branch> e : p.branches.entrySet()) {
      if (e.getValue().state == BranchState.ACTIVE) p.set(e.getKey(), e.getValue(), BranchState.LOST);
    }
  }

  // ---------------------------------------------------------------- participants

  enum BranchState { ACTIVE, PREPARED, COMMITTED, ROLLED_BACK, READ_ONLY, LOST }

  static final class Branch {
    BranchState state = BranchState.ACTIVE;
    final long createdAt;
    final boolean readOnly;
    final boolean refuses;
    long preparedAt;
    boolean onePhase;

    Branch(long createdAt, boolean readOnly, boolean refuses) {
      this.createdAt = createdAt;
      this.readOnly = readOnly;
      this.refuses = refuses;
    }
  }

  final class Participant {
    final String name;
    final String url;
    /** Never answers anything: its transactions may stay live forever (liveness excludes them). */
    final boolean blackHole;
    final Map<String, Branch> branches = new LinkedHashMap<>();
    final long inDoubtAfterMs;
    long downUntil;

    Participant(String name, boolean blackHole) {
      this.name = name;
      this.url = "http://" + name + ".sim/tx";
      this.blackHole = blackHole;
      this.inDoubtAfterMs = 1 + rnd.nextLong(IN_DOUBT_AFTER_MS_MAX);
    }

    boolean up() {
      return now >= downUntil;
    }

    boolean reachable() {
      return up() && !blackHole;
    }

    void set(String txId, Branch b, BranchState to) {
      note(name + " " + txId + ": " + b.state + " → " + to);
      b.state = to;
      checkAtomicity(txId);
    }

    /** The participant's side of one call; the reply is a Vote or an AckStatus. */
    Object handle(Send s) {
      Branch b = branches.get(s.txId());
      return switch (s.kind()) {
        case PREPARE -> prepare(s.txId(), b);
        case COMMIT -> commit(s.txId(), b);
        case COMMIT_ONE_PHASE -> commitOnePhase(s.txId(), b);
        case ROLLBACK -> rollback(s.txId(), b);
      };
    }

    private Vote prepare(String txId, Branch b) {
      if (b == null) return Vote.ABORT; // the work is lost (PROTOCOL-TRAPS 11)
      switch (b.state) {
        case ACTIVE -> {
          if (b.refuses) {
            set(txId, b, BranchState.ROLLED_BACK);
            return Vote.ABORT;
          }
          if (b.readOnly) {
            set(txId, b, BranchState.READ_ONLY);
            return Vote.READ_ONLY;
          }
          b.preparedAt = now;
          set(txId, b, BranchState.PREPARED); // durable before the vote leaves (PROTOCOL-TRAPS 9)
          everPrepared.add(txId);
          return Vote.PREPARED;
        }
        case PREPARED -> {
          return Vote.PREPARED;
        }
        case READ_ONLY -> {
          return Vote.READ_ONLY;
        }
        default -> {
          return Vote.ABORT; // finished or lost: a repeated prepare cannot prepare it again
        }
      }
    }

    private AckStatus commit(String txId, Branch b) {
      if (b == null) return AckStatus.COMMITTED; // unknown: finished long ago (PROTOCOL-TRAPS 11)
      switch (b.state) {
        case PREPARED -> {
          commitPrepared(txId, b, "commit call");
          return AckStatus.COMMITTED;
        }
        case COMMITTED -> {
          return AckStatus.COMMITTED;
        }
        case READ_ONLY -> {
          fail("commit sent to " + name + ", a read-only voter of " + txId + " (left out of phase 2)");
          return AckStatus.COMMITTED;
        }
        case ACTIVE -> {
          fail("two-phase commit sent to " + name + " for " + txId + " that never prepared");
          return AckStatus.COMMITTED;
        }
        default -> {
          fail("commit of " + txId + " reached " + name + " where it was " + b.state);
          return AckStatus.HEURISTIC_ROLLBACK;
        }
      }
    }

    private AckStatus commitOnePhase(String txId, Branch b) {
      if (b == null) return AckStatus.ROLLED_BACK;
      switch (b.state) {
        case ACTIVE -> {
          b.onePhase = true;
          if (b.refuses) {
            set(txId, b, BranchState.ROLLED_BACK);
            return AckStatus.ROLLED_BACK;
          }
          set(txId, b, BranchState.COMMITTED);
          return AckStatus.COMMITTED;
        }
        case COMMITTED -> {
          return AckStatus.COMMITTED;
        }
        case ROLLED_BACK, LOST -> {
          return AckStatus.ROLLED_BACK;
        }
        default -> {
          fail("one-phase commit of " + txId + " reached " + name + " where it was " + b.state);
          return AckStatus.COMMITTED;
        }
      }
    }

    private AckStatus rollback(String txId, Branch b) {
      if (b == null) return AckStatus.ROLLED_BACK;
      switch (b.state) {
        case ACTIVE, PREPARED -> {
          set(txId, b, BranchState.ROLLED_BACK);
          return AckStatus.ROLLED_BACK;
        }
        case COMMITTED -> {
          fail("rollback of " + txId + " reached " + name + " where it was COMMITTED");
          return AckStatus.HEURISTIC_COMMIT;
        }
        default -> {
          return AckStatus.ROLLED_BACK;
        }
      }
    }

    void commitPrepared(String txId, Branch b, String how) {
      if (!durableCommits.containsKey(txId)) {
        fail(name + " commits " + txId + " (" + how + ") but no COMMIT record is durable (trap 2)");
      }
      set(txId, b, BranchState.COMMITTED);
    }
  }

  private Participant participant(String name) {
    for (Participant p : participants) if (p.name.equals(name)) return p;
    throw fail("no participant " + name);
  }

  /** Local duties: roll back idle active branches; ask about prepared branches in doubt. */
  private void participantTick(Participant p) {
    schedule(now + PARTICIPANT_TICK_MS, -1, () -> participantTick(p));
    if (!p.up()) return;
    for (Map.Entry<String, Branch> e : p.branches.entrySet()) {
      String txId = e.getKey();
      Branch b = e.getValue();
      if (b.state == BranchState.ACTIVE && now - b.createdAt > ACTIVE_BRANCH_TIMEOUT_MS) {
        p.set(txId, b, BranchState.ROLLED_BACK); // only unprepared work may be dropped alone
      } else if (b.state == BranchState.PREPARED && now - b.preparedAt > p.inDoubtAfterMs && !p.blackHole) {
        askCoordinator(p, txId, b);
      }
    }
  }

  private void askCoordinator(Participant p, String txId, Branch b) {
    if (chance(5)) return; // the question is lost
    schedule(now + delay(), -1, () -> {
      Answer a = core.status(txId); // whichever coordinator process is up now answers
      note(p.name + " asks about " + txId + ": " + (a.view() != null ? a.view().state() : a.errorCode()));
      if (chance(5)) return; // the answer is lost
      schedule(now + delay(), -1, () -> {
        if (b.state != BranchState.PREPARED || !p.up()) return;
        if (ErrorCodes.TRANSACTION_UNKNOWN.equals(a.errorCode())) {
          p.set(txId, b, BranchState.ROLLED_BACK); // presumed abort: the only answer that lets it roll back
        } else if (a.view() != null) {
          TxState st = a.view().state();
          if (st == TxState.COMMITTING || st == TxState.COMMITTED) p.commitPrepared(txId, b, "in-doubt recovery");
          else if (st == TxState.ABORTING || st == TxState.ABORTED) p.set(txId, b, BranchState.ROLLED_BACK);
          // ACTIVE, PREPARING: undecided, ask again later (PROTOCOL-TRAPS 13: no guess)
        }
      });
    });
  }

  // ---------------------------------------------------------------- clients

  private final class ClientTx {
    final String id;
    final int epoch;
    final List<Participant> plan = new ArrayList<>();
    final List<Participant> enlisted = new ArrayList<>();
    final Set<Outcome> told = new HashSet<>();
    long nextAt;
    int stage; // 0 enlisting, 1 deciding, 2 after the request, 3 done

    ClientTx(String id, int epoch) {
      this.id = id;
      this.epoch = epoch;
    }
  }

  private void newClientTx() {
    String id = simId();
    long timeout = 300 + rnd.nextLong(2_700);
    Answer a = core.begin(id, timeout, now);
    drain();
    if (a.isRejection()) return;
    ClientTx tx = new ClientTx(id, epoch);
    int n = rnd.nextInt(100) < 10 ? 0 : rnd.nextInt(100) < 25 ? 1 : 2 + rnd.nextInt(Math.min(3, participants.size() - 1));
    List<Participant> pool = new ArrayList<>(participants);
    for (int i = 0; i < n && !pool.isEmpty(); i++) tx.plan.add(pool.remove(rnd.nextInt(pool.size())));
    tx.nextAt = now + rnd.nextLong(100);
    clientTxs.put(id, tx);
    note("begin " + id + " plan " + tx.plan.stream().map(p -> p.name).toList());
  }

  private void clientAct(ClientTx tx) {
    tx.nextAt = now + rnd.nextLong(200);
    switch (tx.stage) {
      case 0 -> {
        if (tx.plan.isEmpty()) {
          tx.stage = 1;
          return;
        }
        Participant p = tx.plan.remove(0);
        enlist(tx, p);
        if (chance(5)) enlist(tx, p); // a client retry
      }
      case 1 -> {
        int r = rnd.nextInt(100);
        if (r < 72) request(tx, true, rnd.nextInt(100) < 20);
        else if (r < 82) request(tx, false, false);
        else if (r < 90) { // commit and rollback race
          request(tx, true, false);
          request(tx, false, false);
        } else {
          note("client abandons " + tx.id); // never decides: the deadline must abort it
        }
        tx.stage = 2;
      }
      case 2 -> {
        int r = rnd.nextInt(100);
        if (r < 20) request(tx, true, false); // the client retries its commit
        else if (r < 30) { // a late participant tries to join (PROTOCOL-TRAPS 4)
          enlist(tx, participants.get(rnd.nextInt(participants.size())));
        }
        tx.stage = 3;
      }
      default -> finishedClientTxs.put(tx.id, clientTxs.remove(tx.id));
    }
  }

  private void enlist(ClientTx tx, Participant p) {
    if (!p.up()) return; // the client could not do its work there
    boolean created = !p.branches.containsKey(tx.id);
    if (created) p.branches.put(tx.id, new Branch(now, rnd.nextInt(100) < 15, rnd.nextInt(100) < 4));
    Answer a = core.enlist(tx.id, p.name, p.url, now);
    drain();
    note("enlist " + tx.id + " " + p.name + " → " + (a.isRejection() ? a.errorCode() : "ok"));
    if (a.isRejection()) {
      // Refused: the client undoes the work it just did there (PROTOCOL-TRAPS 4).
      if (created) p.branches.remove(tx.id);
      clientHeard(tx, a, "enlist");
    } else if (!tx.enlisted.contains(p)) {
      tx.enlisted.add(p);
    }
  }

  private void request(ClientTx tx, boolean commit, boolean waitForAcks) {
    long rid = ++requestIds;
    Answer a = commit ? core.commit(tx.id, rid, waitForAcks, now) : core.rollback(tx.id, rid, now);
    note((commit ? "commit" : "rollback") + " " + tx.id + " #" + rid + " → "
        + (a == null ? "parked" : a.errorCode() != null ? a.errorCode() : a.outcome()));
    if (a == null) parked.put(rid, tx);
    else clientHeard(tx, a, commit ? "commit" : "rollback");
    drain();
  }

  /** What a client was told, checked against the log and the other answers it got. */
  private void clientHeard(ClientTx tx, Answer a, String what) {
    if (ErrorCodes.TRANSACTION_UNKNOWN.equals(a.errorCode())) {
      // Presumed abort: only right if no COMMIT is durable. (A one-phase commit cut by a crash is
      // the documented blind spot, trap 7: nothing was logged, so it is answered unknown too.)
      if (durableCommits.containsKey(tx.id)) {
        fail(what + " of " + tx.id + " answered TRANSACTION_UNKNOWN but its COMMIT is durable (trap 1)");
      }
      return;
    }
    Outcome o = a.outcome();
    if (o == null) return; // OVERLOADED, UNAVAILABLE, PARTICIPANT_CONFLICT: no outcome stated
    if (o == Outcome.COMMITTED) {
      committedTold++;
      if (everPrepared.contains(tx.id) && !durableCommits.containsKey(tx.id)) {
        fail("client told COMMITTED for " + tx.id + " before its COMMIT record was durable (trap 2)");
      }
    } else if (o == Outcome.ABORTED) {
      abortedTold++;
    } else {
      unknownTold++;
      if (everPrepared.contains(tx.id)) fail("UNKNOWN told for " + tx.id + ", which ran two-phase");
    }
    tx.told.add(o);
    if (tx.told.contains(Outcome.COMMITTED) && tx.told.size() > 1) {
      fail("client of " + tx.id + " told " + tx.told);
    }
    if (tx.told.contains(Outcome.ABORTED) && tx.told.contains(Outcome.UNKNOWN)) {
      fail("client of " + tx.id + " told " + tx.told);
    }
    checkAtomicity(tx.id);
  }

  /** Ids like the real ones (time + 80 random bits), but from the seed so runs replay exactly. */
  private String simId() {
    String alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    StringBuilder sb = new StringBuilder(TxIds.next(now).substring(0, 10));
    for (int i = 0; i < 16; i++) sb.append(alphabet.charAt(rnd.nextInt(32)));
    return sb.toString();
  }

  // ---------------------------------------------------------------- checkers

  /** Never committed at one participant and rolled back at another; clients never contradicted. */
  private void checkAtomicity(String txId) {
    boolean committed = false;
    boolean rolledBack = false;
    for (Participant p : participants) {
      Branch b = p.branches.get(txId);
      if (b == null) continue;
      committed |= b.state == BranchState.COMMITTED;
      rolledBack |= b.state == BranchState.ROLLED_BACK || b.state == BranchState.LOST;
    }
    if (committed && rolledBack) fail(txId + " committed at one participant and rolled back at another: " + branchStates(txId));
    ClientTx tx = clientTxs.get(txId);
    if (tx == null) tx = finishedClientTxs.get(txId);
    if (tx != null) {
      if (committed && tx.told.contains(Outcome.ABORTED)) fail("client told ABORTED, but " + txId + " committed: " + branchStates(txId));
      if (rolledBack && tx.told.contains(Outcome.COMMITTED)) fail("client told COMMITTED, but " + txId + " rolled back: " + branchStates(txId));
    }
  }

  /** Client transactions the client stopped acting on, kept so late answers can still be checked. */
  private final Map<String, ClientTx> finishedClientTxs = new LinkedHashMap<>();

  private void checkAtEnd() {
    for (ClientTx tx : clientTxs.values()) finishedClientTxs.put(tx.id, tx);
    Set<String> blackHoleTxs = new HashSet<>();
    Participant hole = null;
    for (Participant p : participants) if (p.blackHole) hole = p;
    if (hole != null) blackHoleTxs.addAll(hole.branches.keySet());
    for (Participant p : participants) {
      for (Map.Entry<String, Branch> e : p.branches.entrySet()) {
        checkAtomicity(e.getKey());
        BranchState st = e.getValue().state;
        if (st == BranchState.PREPARED && !blackHoleTxs.contains(e.getKey())) {
          fail("liveness: " + p.name + " still holds " + e.getKey() + " PREPARED: " + branchStates(e.getKey())
              + " coordinator says " + describe(core.status(e.getKey())));
        }
        if (st == BranchState.ACTIVE) fail("liveness: " + p.name + " still holds " + e.getKey() + " ACTIVE");
      }
    }
    for (TxView v : core.list(null, null, 100_000)) {
      if (v.state().decided() && v.state() != TxState.COMMITTING && v.state() != TxState.ABORTING) continue;
      boolean pinnedByHole = false;
      for (ParticipantView pv : v.participants()) pinnedByHole |= hole != null && pv.name().equals(hole.name);
      if (!pinnedByHole) fail("liveness: the core still holds " + v.id() + " in " + v.state() + ": " + v);
    }
    for (AppendCommit c : durableCommits.values()) {
      if (!durableEnds.containsKey(c.txId()) && !blackHoleTxs.contains(c.txId())) {
        fail("liveness: COMMIT of " + c.txId() + " never got its END");
      }
    }
    for (Map.Entry<Long, ClientTx> e : parked.entrySet()) {
      if (!blackHoleTxs.contains(e.getValue().id)) fail("liveness: request " + e.getKey() + " on " + e.getValue().id + " never answered");
    }
  }

  private String branchStates(String txId) {
    StringBuilder sb = new StringBuilder("{");
    for (Participant p : participants) {
      Branch b = p.branches.get(txId);
      if (b != null) sb.append(p.name).append('=').append(b.state).append(b.onePhase ? "(1pc)" : "").append(' ');
    }
    return sb.append('}').toString();
  }

  private static String describe(Answer a) {
    return a.view() != null ? a.view().state().toString() : a.errorCode();
  }

  private void note(String line) {
    if (trace.size() == TRACE_LINES) trace.removeFirst();
    trace.addLast(now + " " + line);
  }

  private Violation fail(String message) {
    throw new Violation("seed " + seed + " (replay: -Dsim.seed=" + seed + "): " + message
        + "\nlast events:\n  " + String.join("\n  ", trace));
  }
}

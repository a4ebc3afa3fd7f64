package dev.duet.participant.jdbc;

import dev.duet.participant.BranchConflictException;
import dev.duet.participant.Participant;
import dev.duet.wire.AckStatus;
import dev.duet.wire.Check;
import dev.duet.wire.Limits;
import dev.duet.wire.TxIds;
import dev.duet.wire.Vote;
import io.micrometer.core.instrument.Gauge;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import javax.sql.XAConnection;
import javax.sql.XADataSource;
import javax.transaction.xa.XAException;
import javax.transaction.xa.XAResource;
import javax.transaction.xa.Xid;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link Participant} over any JDBC {@link XADataSource}: each Duet transaction is one XA branch
 * (format id "DUET", global id = transaction id, qualifier = participant name) on its own
 * connection.
 *
 * <p>Life of a branch: {@link #inBranch} opens it (XA start) on first use and runs work in it,
 * serialized; {@link #prepare} ends and prepares it; {@link #commit} / {@link #rollback} finish it.
 * What it guarantees:
 *
 * <ul>
 *   <li>PREPARED only after {@code XAResource.prepare} returned (PROTOCOL-TRAPS 9).
 *   <li>A prepared branch keeps its connection until phase 2: H2 silently rolls back a prepared
 *       branch whose connection is closed while the database stays open (h2database#2347).
 *   <li>Active branches past their deadline are rolled back by a reaper, so locks are not held
 *       forever; prepared branches never are (10).
 *   <li>Unknown branches: prepare votes ABORT, commit and rollback succeed (11). A branch that is
 *       not in this process's table but still prepared in the database (left by a crash) is
 *       finished by its XA id, after checking {@code XAResource.recover()}.
 *   <li>Unexpected XA errors in phase 2 are "retry later", never "done": pgjdbc reports
 *       {@code XAER_RMERR} for branches still prepared after a backend died (12).
 *   <li>PostgreSQL with {@code max_prepared_transactions = 0} is refused at construction with a
 *       message saying how to fix it.
 * </ul>
 *
 * <p>H2 durability: H2 writes committed data to its file in the background; use
 * {@code ;WRITE_DELAY=0} in the URL so a prepared or committed branch is on disk when the call
 * returns.
 */
public final class XaParticipant implements Participant, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(XaParticipant.class);

  /** Finished transactions remembered to answer duplicates and refuse late work (oldest forgotten first). */
  public static final int FINISHED_REMEMBERED_MAX = 10_000;
  /** How long a call waits for work running in the same branch before answering "busy, retry". */
  public static final long BRANCH_LOCK_WAIT_MS = 5_000;
  /**
   * Idle connections kept for the next branch (opening a PostgreSQL connection costs milliseconds).
   * Only connections whose branch finished cleanly are kept; never one holding a prepared branch.
   */
  public static final int IDLE_CONNECTIONS_MAX = 32;
  /** In-doubt branches one recovery scan reports at most. */
  public static final int RECOVER_SCAN_MAX = 10_000;

  private enum State { NEW, ACTIVE, PREPARED, DONE }

  /** One transaction's branch. Fields other than the ids are guarded by {@link #lock}. */
  private static final class Branch {
    final String txId;
    final Xid xid;
    final long deadlineMs;
    final ReentrantLock lock = new ReentrantLock();
    State state = State.NEW;
    XAConnection xaConnection;
    XAResource resource;
    Connection connection;
    /** The connection broke after prepare: finish the branch by its id from another connection. */
    boolean detached;

    Branch(String txId, Xid xid, long deadlineMs) {
      this.txId = txId;
      this.xid = xid;
      this.deadlineMs = deadlineMs;
    }
  }

  private final String name;
  private final byte[] bqual;
  private final XADataSource dataSource;
  private final XaOptions options;
  private final Map<String, Branch> branches = new ConcurrentHashMap<>();
  private final Object createLock = new Object();
  /** txId → how it finished ("committed", "rolled back: why"); guarded by itself. */
  private final Map<String, String> finished = new LinkedHashMap<>(256, 0.75f, false) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
      return size() > FINISHED_REMEMBERED_MAX;
    }
  };
  /** Prepared in the database but not held by this process (left by an earlier run). */
  private final Set<String> recoveredInDoubt = ConcurrentHashMap.newKeySet();
  /** An idle XA connection with its (single) connection handle. */
  private record Idle(XAConnection xaConnection, Connection connection) {}
  private final java.util.concurrent.ConcurrentLinkedDeque<Idle> idle = new java.util.concurrent.ConcurrentLinkedDeque<>();
  private final java.util.concurrent.atomic.AtomicInteger idleCount = new java.util.concurrent.atomic.AtomicInteger();
  private final ScheduledExecutorService reaper;
  /** Guards the recovery connection, used to list and finish branches by id. */
  private final Object recoveryLock = new Object();
  private XAConnection recoveryConnection;
  private volatile boolean closed;

  /**
   * @param name the participant name, at most {@value Limits#PARTICIPANT_NAME_BYTES_MAX} bytes; it
   *     is the XA branch qualifier, so it must stay the same across restarts
   * @throws IllegalStateException if the database cannot prepare transactions (PostgreSQL with
   *     {@code max_prepared_transactions = 0}) or cannot be reached
   */
  public XaParticipant(String name, XADataSource dataSource, XaOptions options) {
    Check.that(name != null && !name.isEmpty() && name.getBytes(StandardCharsets.UTF_8).length <= Limits.PARTICIPANT_NAME_BYTES_MAX,
        "participant name of 1.." + Limits.PARTICIPANT_NAME_BYTES_MAX + " bytes");
    this.name = name;
    this.bqual = name.getBytes(StandardCharsets.UTF_8);
    this.dataSource = Check.notNull(dataSource, "dataSource");
    this.options = Check.notNull(options, "options");
    checkDatabase();
    try {
      recoveredInDoubt.addAll(scanPrepared());
    } catch (SQLException e) {
      log.warn("participant {}: could not list in-doubt branches at start: {}", name, e.toString());
    }
    if (!recoveredInDoubt.isEmpty()) {
      log.warn("participant {}: {} branch(es) in doubt from an earlier run; recovery asks the coordinator: {}",
          name, recoveredInDoubt.size(), recoveredInDoubt);
    }
    this.reaper = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "duet-branch-reaper-" + name);
      t.setDaemon(true);
      return t;
    });
    reaper.scheduleWithFixedDelay(this::reapExpired, options.deadlineCheckMs(), options.deadlineCheckMs(), TimeUnit.MILLISECONDS);
    if (options.meterRegistry() != null) {
      Gauge.builder("duet.participant.branches.in_doubt", this, XaParticipant::inDoubtCount)
          .description("branches prepared and not yet committed or rolled back, including those left by a crash")
          .tag("participant", name).register(options.meterRegistry());
      Gauge.builder("duet.participant.branches.active", this, XaParticipant::activeCount)
          .description("branches open for work, not yet prepared")
          .tag("participant", name).register(options.meterRegistry());
    }
  }

  @Override
  public String name() {
    return name;
  }

  // ---------------------------------------------------------------- work

  /**
   * Runs {@code work} in the branch of {@code txId}, opening the branch on first use. Work of one
   * branch is serialized. If the work throws, the branch is rolled back (the transaction will then
   * abort: prepare votes ABORT) and the exception is rethrown.
   *
   * @param deadlineMs wall-clock time (epoch ms) after which the branch, if still not prepared, is
   *     rolled back; use the transaction's deadline ({@code JoinHandler.deadlineMs}); 0 means
   *     {@link Limits#TX_TIMEOUT_MS_MAX} from now
   * @throws BranchLimitException if {@link XaOptions#branchesMax()} branches are open
   * @throws SQLException if the work fails, the branch is already prepared or finished, or the
   *     deadline has passed
   */
  public <T> T inBranch(String txId, long deadlineMs, SqlWork<T> work) throws SQLException {
    if (!TxIds.isValid(txId)) throw new SQLException("'" + txId + "' is not a transaction id");
    Check.notNull(work, "work");
    long now = System.currentTimeMillis();
    long deadline = deadlineMs == 0 ? now + Limits.TX_TIMEOUT_MS_MAX : deadlineMs;
    if (deadline <= now) {
      throw new SQLException("deadline " + deadlineMs + " has passed (it is an absolute time in epoch ms, not a duration)");
    }
    if (closed) throw new SQLException("participant " + name + " is closed");
    Branch b = branchFor(txId, deadline);
    lockOrThrow(b);
    try {
      switch (b.state) {
        case DONE -> throw new SQLException("branch " + txId + " is already " + finishedAs(txId) + "; no more work can join it");
        case PREPARED -> throw new SQLException("branch " + txId + " is prepared; no more work can join it");
        case NEW -> open(b);
        case ACTIVE -> { }
      }
      try {
        return work.run(b.connection);
      } catch (SQLException | RuntimeException | Error e) {
        rollbackActive(b, "its work failed: " + e);
        throw e;
      }
    } finally {
      b.lock.unlock();
    }
  }

  private Branch branchFor(String txId, long deadline) throws SQLException {
    Branch b = branches.get(txId);
    if (b != null) return b;
    synchronized (createLock) {
      b = branches.get(txId);
      if (b != null) return b;
      String done = finishedAsOrNull(txId);
      if (done != null) throw new SQLException("branch " + txId + " is already " + done + "; no more work can join it");
      if (recoveredInDoubt.contains(txId)) throw new SQLException("branch " + txId + " is prepared (in doubt); no more work can join it");
      if (branches.size() >= options.branchesMax()) {
        throw new BranchLimitException("participant " + name + " has " + branches.size()
            + " branches active or prepared (branchesMax); retry later, or raise branchesMax");
      }
      b = new Branch(txId, new DuetXid(txId, bqual), deadline);
      branches.put(txId, b);
      return b;
    }
  }

  private void open(Branch b) throws SQLException {
    Idle reuse = idle.pollFirst();
    if (reuse != null) {
      idleCount.decrementAndGet();
      try {
        b.xaConnection = reuse.xaConnection();
        b.connection = reuse.connection();
        b.resource = b.xaConnection.getXAResource();
        b.resource.start(b.xid, XAResource.TMNOFLAGS);
        b.state = State.ACTIVE;
        return;
      } catch (SQLException | XAException | RuntimeException e) {
        // A stale idle connection: drop it and open a fresh one.
        log.debug("participant {}: idle connection unusable: {}", name, e.toString());
        closeQuietly(reuse.xaConnection());
        b.xaConnection = null;
        b.connection = null;
        b.resource = null;
      }
    }
    try {
      b.xaConnection = dataSource.getXAConnection();
      b.resource = b.xaConnection.getXAResource();
      b.connection = b.xaConnection.getConnection();
      b.resource.start(b.xid, XAResource.TMNOFLAGS);
      b.state = State.ACTIVE;
    } catch (SQLException | XAException | RuntimeException e) {
      finish(b, "rolled back: could not start: " + e);
      if (e instanceof SQLException s) throw s;
      throw new SQLException("could not start branch " + b.txId + ": " + e, e);
    }
  }

  // ---------------------------------------------------------------- phase 1

  @Override
  public Vote prepare(String txId) throws Exception {
    Branch b = branches.get(txId);
    if (b == null) {
      // Prepared by an earlier run of this process: it is durable, the vote stands.
      if (recoveredInDoubt.contains(txId)) return Vote.PREPARED;
      return voteOfFinished(finishedAsOrNull(txId));
    }
    lockOrThrow(b);
    try {
      switch (b.state) {
        case PREPARED:
          return Vote.PREPARED;
        case DONE:
          return voteOfFinished(finishedAsOrNull(txId));
        case NEW:
          // Opened but never started: nothing to prepare, nothing was done.
          finish(b, "rolled back: no work before prepare");
          return Vote.ABORT;
        default:
          break;
      }
      int result;
      try {
        b.resource.end(b.xid, XAResource.TMSUCCESS);
        result = b.resource.prepare(b.xid);
      } catch (XAException e) {
        // XA_RB*: the database rolled the branch back. Anything else: we cannot tell, so make sure
        // it is rolled back and vote ABORT; the coordinator then aborts the transaction.
        if (!isRollbackCode(e.errorCode)) log.warn("participant {}: prepare of {} failed ({}); rolling back", name, txId, describe(e));
        quietRollback(b);
        finish(b, "rolled back: prepare failed: " + describe(e));
        return Vote.ABORT;
      }
      if (result == XAResource.XA_RDONLY) {
        // Nothing to commit; the database has already released the branch.
        finish(b, READ_ONLY);
        return Vote.READ_ONLY;
      }
      Check.that(result == XAResource.XA_OK, "XAResource.prepare returns XA_OK or XA_RDONLY");
      b.state = State.PREPARED;
      return Vote.PREPARED;
    } finally {
      b.lock.unlock();
    }
  }

  // ---------------------------------------------------------------- phase 2

  @Override
  public AckStatus commit(String txId, boolean onePhase) throws Exception {
    Branch b = branches.get(txId);
    if (b == null) {
      if (onePhase) {
        // Work that was never prepared and is gone (rolled back by the deadline or a restart).
        return repeatedOnePhase(txId, finishedAsOrNull(txId));
      }
      return finishById(txId, true);
    }
    lockOrThrow(b);
    try {
      switch (b.state) {
        case DONE:
          if (onePhase) return repeatedOnePhase(txId, finishedAsOrNull(txId));
          // Gone from under us between lookup and lock: finished by an earlier call.
          return AckStatus.COMMITTED;
        case NEW:
          finish(b, "rolled back: no work");
          return onePhase ? AckStatus.ROLLED_BACK : AckStatus.COMMITTED;
        case ACTIVE:
          if (!onePhase) {
            throw new BranchConflictException("branch " + txId + " is not prepared; a two-phase commit needs a PREPARED vote first");
          }
          return commitOnePhase(b);
        case PREPARED:
          if (onePhase) throw new BranchConflictException("branch " + txId + " is prepared; commit it with onePhase false");
          return finishPrepared(b, true);
        default:
          throw new IllegalStateException("unreachable");
      }
    } finally {
      b.lock.unlock();
    }
  }

  @Override
  public AckStatus rollback(String txId) throws Exception {
    if (COMMITTED.equals(finishedAsOrNull(txId))) return committedAgainstRollback(txId);
    Branch b = branches.get(txId);
    if (b == null) return finishById(txId, false);
    lockOrThrow(b);
    try {
      switch (b.state) {
        case DONE:
          if (COMMITTED.equals(finishedAs(txId))) return committedAgainstRollback(txId);
          return AckStatus.ROLLED_BACK;
        case NEW:
          finish(b, "rolled back: by the coordinator");
          return AckStatus.ROLLED_BACK;
        case ACTIVE:
          rollbackActive(b, "by the coordinator before prepare");
          return AckStatus.ROLLED_BACK;
        case PREPARED:
          return finishPrepared(b, false);
        default:
          throw new IllegalStateException("unreachable");
      }
    } finally {
      b.lock.unlock();
    }
  }

  /**
   * A one-phase commit asked again repeats what the first one found. If the first one's outcome was
   * unknown (the database may have committed before the error), so is this one's: answering
   * ROLLED_BACK there could report money moved in this database as not moved (PROTOCOL-TRAPS 7).
   */
  private static AckStatus repeatedOnePhase(String txId, String how) throws SQLException {
    if (COMMITTED.equals(how)) return AckStatus.COMMITTED;
    if (how != null && how.startsWith(UNKNOWN_PREFIX)) {
      throw new SQLException("one-phase commit of " + txId + " failed earlier; outcome unknown: " + how);
    }
    return AckStatus.ROLLED_BACK;
  }

  /**
   * A rollback of a branch this participant committed: the work cannot be undone, so say so
   * (HEURISTIC_COMMIT, as XA's XA_HEURCOM). The coordinator records a heuristic outcome and stops
   * asking; a refusal would have it retry for ever while nobody hears of the damage.
   */
  private AckStatus committedAgainstRollback(String txId) {
    log.error("participant {}: rollback asked for {}, which is already committed; answering HEURISTIC_COMMIT", name, txId);
    return AckStatus.HEURISTIC_COMMIT;
  }

  private AckStatus commitOnePhase(Branch b) throws SQLException {
    try {
      b.resource.end(b.xid, XAResource.TMSUCCESS);
      b.resource.commit(b.xid, true);
      finish(b, COMMITTED, true);
      return AckStatus.COMMITTED;
    } catch (XAException e) {
      if (isRollbackCode(e.errorCode)) {
        finish(b, "rolled back: one-phase commit refused: " + describe(e));
        return AckStatus.ROLLED_BACK;
      }
      // The outcome is unknown; the coordinator reports it as such (PROTOCOL-TRAPS 7). Closing the
      // connection rolls back whatever did not commit.
      finish(b, UNKNOWN_PREFIX + "one-phase commit failed: " + describe(e));
      throw new SQLException("one-phase commit of " + b.txId + " failed; outcome unknown: " + describe(e), e);
    }
  }

  /** Phase 2 of a prepared branch held by this process. Holds the branch lock. */
  private AckStatus finishPrepared(Branch b, boolean commit) throws SQLException {
    if (b.detached) {
      AckStatus s = finishById(b.txId, commit);
      finish(b, commit ? COMMITTED : "rolled back: by the coordinator");
      return s;
    }
    try {
      if (commit) b.resource.commit(b.xid, false);
      else b.resource.rollback(b.xid);
      finish(b, commit ? COMMITTED : "rolled back: by the coordinator", true);
      return commit ? AckStatus.COMMITTED : AckStatus.ROLLED_BACK;
    } catch (XAException e) {
      AckStatus known = phase2Answer(e, commit);
      if (known != null) {
        forgetQuietly(b.resource, b.xid, e);
        finish(b, commit ? COMMITTED : "rolled back: by the coordinator");
        return known;
      }
      // Retry later. If the connection itself is dead (e.g. its backend died), later attempts
      // finish the branch by its id from another connection; the branch stays prepared meanwhile.
      if (!connectionAlive(b)) {
        b.detached = true;
        closeQuietly(b.xaConnection);
        b.xaConnection = null;
      }
      throw new SQLException((commit ? "commit" : "rollback") + " of prepared branch " + b.txId
          + " failed; it stays prepared and the coordinator retries: " + describe(e), e);
    }
  }

  /**
   * Finishes a branch this process does not hold, by its XA id: if {@code XAResource.recover()}
   * lists it, it is still prepared (left by a crash or a broken connection) and is finished now;
   * if not, it finished earlier (or never existed) and the answer is success.
   */
  private AckStatus finishById(String txId, boolean commit) throws SQLException {
    AckStatus done = commit ? AckStatus.COMMITTED : AckStatus.ROLLED_BACK;
    synchronized (recoveryLock) {
      XAResource xa = recoveryResource();
      Xid xid = null;
      try {
        for (Xid x : xa.recover(XAResource.TMSTARTRSCAN | XAResource.TMENDRSCAN)) {
          if (txId.equals(DuetXid.txIdOf(x, bqual))) xid = x;
        }
        if (xid == null) {
          recoveredInDoubt.remove(txId);
          return done;
        }
        // H2 only issues ROLLBACK TRANSACTION on a connection whose recover() just found branches.
        if (commit) xa.commit(xid, false);
        else xa.rollback(xid);
        recoveredInDoubt.remove(txId);
        remember(txId, commit ? COMMITTED : "rolled back: by the coordinator");
        log.info("participant {}: in-doubt branch {} {} by its id", name, txId, commit ? "committed" : "rolled back");
        return done;
      } catch (XAException e) {
        AckStatus known = phase2Answer(e, commit);
        if (known != null) {
          if (xid != null) forgetQuietly(xa, xid, e);
          recoveredInDoubt.remove(txId);
          return known;
        }
        dropRecoveryConnection();
        throw new SQLException((commit ? "commit" : "rollback") + " of in-doubt branch " + txId
            + " failed; it stays prepared: " + describe(e), e);
      }
    }
  }

  /**
   * What an XA error in phase 2 means: a definite answer, or null for "retry later". Only "not
   * found" (already finished) and heuristic outcomes are definite.
   */
  private static AckStatus phase2Answer(XAException e, boolean commit) {
    int code = e.errorCode;
    if (code == XAException.XAER_NOTA) return commit ? AckStatus.COMMITTED : AckStatus.ROLLED_BACK;
    if (code == XAException.XA_HEURCOM) return commit ? AckStatus.COMMITTED : AckStatus.HEURISTIC_COMMIT;
    if (code == XAException.XA_HEURRB) return commit ? AckStatus.HEURISTIC_ROLLBACK : AckStatus.ROLLED_BACK;
    if (code == XAException.XA_HEURMIX) return AckStatus.HEURISTIC_MIXED;
    if (commit && isRollbackCode(code)) return AckStatus.HEURISTIC_ROLLBACK;
    if (!commit && isRollbackCode(code)) return AckStatus.ROLLED_BACK;
    return null;
  }

  private static boolean isRollbackCode(int code) {
    return code >= XAException.XA_RBBASE && code <= XAException.XA_RBEND;
  }

  // ---------------------------------------------------------------- in doubt and recovery

  /**
   * Prepared branches: those held by this process plus those the database lists as prepared for
   * this participant (left by an earlier run). Refreshes the latter from {@code XAResource.recover()}.
   */
  @Override
  public List<String> inDoubt() throws SQLException {
    Set<String> out = new LinkedHashSet<>(heldPrepared());
    List<String> scanned = scanPrepared();
    Set<String> stillThere = new LinkedHashSet<>(scanned);
    recoveredInDoubt.retainAll(stillThere);
    for (String id : scanned) {
      if (!branches.containsKey(id)) recoveredInDoubt.add(id);
    }
    out.addAll(scanned);
    return new ArrayList<>(out);
  }

  /** Prepared, unfinished branches, including those left by an earlier run (cheap; for metrics). */
  public int inDoubtCount() {
    int n = 0;
    for (String id : recoveredInDoubt) if (!branches.containsKey(id)) n++;
    return n + heldPrepared().size();
  }

  /** Branches open for work and not yet prepared. */
  public int activeCount() {
    int n = 0;
    for (Branch b : branches.values()) if (b.state == State.ACTIVE || b.state == State.NEW) n++;
    return n;
  }

  private List<String> heldPrepared() {
    List<String> out = new ArrayList<>();
    for (Branch b : branches.values()) if (b.state == State.PREPARED) out.add(b.txId);
    return out;
  }

  /** Transaction ids of this participant's branches the database lists as prepared. */
  private List<String> scanPrepared() throws SQLException {
    synchronized (recoveryLock) {
      XAResource xa = recoveryResource();
      try {
        List<String> out = new ArrayList<>();
        for (Xid x : xa.recover(XAResource.TMSTARTRSCAN | XAResource.TMENDRSCAN)) {
          String id = DuetXid.txIdOf(x, bqual);
          if (id != null && out.size() < RECOVER_SCAN_MAX) out.add(id);
        }
        return out;
      } catch (XAException e) {
        dropRecoveryConnection();
        throw new SQLException("XAResource.recover failed: " + describe(e), e);
      }
    }
  }

  private XAResource recoveryResource() throws SQLException {
    if (recoveryConnection == null) recoveryConnection = dataSource.getXAConnection();
    return recoveryConnection.getXAResource();
  }

  private void dropRecoveryConnection() {
    // The recovery connection never holds a branch of its own, so closing it finishes nothing.
    closeQuietly(recoveryConnection);
    recoveryConnection = null;
  }

  // ---------------------------------------------------------------- deadlines

  /** Rolls back active branches past their deadline. Never touches prepared ones (PROTOCOL-TRAPS 10). */
  private void reapExpired() {
    try {
      long now = System.currentTimeMillis();
      for (Branch b : branches.values()) {
        if (b.deadlineMs > now || !(b.state == State.ACTIVE || b.state == State.NEW)) continue;
        // Work running in the branch holds the lock: try again next round rather than wait.
        if (!b.lock.tryLock()) continue;
        try {
          if (b.state == State.ACTIVE) {
            log.info("participant {}: rolling back branch {}: its deadline passed before prepare", name, b.txId);
            rollbackActive(b, "its deadline passed before prepare");
          } else if (b.state == State.NEW) {
            finish(b, "rolled back: its deadline passed before prepare");
          }
        } finally {
          b.lock.unlock();
        }
      }
    } catch (RuntimeException e) {
      log.error("participant {}: deadline check failed", name, e);
    }
  }

  // ---------------------------------------------------------------- plumbing

  private static final String COMMITTED = "committed";
  /**
   * A branch that voted READ_ONLY: it changed nothing and the database released it. Neither
   * "committed" nor "rolled back": if the vote was lost the coordinator aborts and sends rollback,
   * which must succeed (there is nothing to undo) rather than be refused as a conflict.
   */
  private static final String READ_ONLY = "read-only: nothing to commit or roll back";
  /** How a one-phase commit whose outcome the database did not tell is remembered. */
  private static final String UNKNOWN_PREFIX = "unknown: ";

  /** Rolls back an active branch and finishes it. Holds the branch lock. */
  private void rollbackActive(Branch b, String why) {
    Check.that(b.state != State.PREPARED, "a prepared branch is only finished by the coordinator's decision");
    if (b.state == State.ACTIVE) quietRollback(b);
    finish(b, "rolled back: " + why);
  }

  private void quietRollback(Branch b) {
    try {
      b.resource.end(b.xid, XAResource.TMSUCCESS);
    } catch (XAException | RuntimeException ignored) {
      // Already ended (e.g. before prepare); the rollback below is what counts.
    }
    try {
      b.resource.rollback(b.xid);
    } catch (XAException | RuntimeException e) {
      // Closing the connection (in finish) rolls back work that was never prepared.
      log.debug("participant {}: rollback of {} failed: {}", name, b.txId, e.toString());
    }
  }

  /** Marks the branch done, releases its connection and forgets it. Holds the branch lock. */
  private void finish(Branch b, String how) {
    finish(b, how, false);
  }

  /** Like {@link #finish(Branch, String)}; {@code reusable}: the branch ended cleanly, keep its connection. */
  private void finish(Branch b, String how, boolean reusable) {
    b.state = State.DONE;
    boolean kept = false;
    if (reusable && !closed && b.xaConnection != null) {
      if (idleCount.incrementAndGet() <= IDLE_CONNECTIONS_MAX) {
        idle.addFirst(new Idle(b.xaConnection, b.connection));
        kept = true;
      } else {
        idleCount.decrementAndGet();
      }
    }
    if (!kept) closeQuietly(b.xaConnection);
    b.xaConnection = null;
    b.resource = null;
    b.connection = null;
    remember(b.txId, how);
    branches.remove(b.txId, b);
    recoveredInDoubt.remove(b.txId);
  }

  private void remember(String txId, String how) {
    synchronized (finished) {
      finished.put(txId, how);
    }
  }

  private String finishedAsOrNull(String txId) {
    synchronized (finished) {
      return finished.get(txId);
    }
  }

  /** A repeated prepare of a branch that already finished repeats its vote. */
  private static Vote voteOfFinished(String how) {
    if (COMMITTED.equals(how)) return Vote.PREPARED;
    if (READ_ONLY.equals(how)) return Vote.READ_ONLY;
    return Vote.ABORT;
  }

  private String finishedAs(String txId) {
    String s = finishedAsOrNull(txId);
    return s == null ? "finished" : s;
  }

  private void lockOrThrow(Branch b) throws SQLException {
    try {
      if (!b.lock.tryLock(BRANCH_LOCK_WAIT_MS, TimeUnit.MILLISECONDS)) {
        throw new SQLException("branch " + b.txId + " is busy with other work; retry later");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SQLException("interrupted while waiting for branch " + b.txId);
    }
  }

  private boolean connectionAlive(Branch b) {
    try {
      return b.connection != null && b.connection.isValid(2);
    } catch (SQLException | RuntimeException e) {
      return false;
    }
  }

  private void forgetQuietly(XAResource xa, Xid xid, XAException cause) {
    if (cause.errorCode < XAException.XA_HEURHAZ || cause.errorCode > XAException.XA_HEURMIX) return;
    try {
      xa.forget(xid);
    } catch (XAException | RuntimeException e) {
      log.warn("participant {}: forget of heuristic branch {} failed: {}", name, xid, e.toString());
    }
  }

  private static void closeQuietly(XAConnection c) {
    if (c == null) return;
    try {
      c.close();
    } catch (SQLException | RuntimeException ignored) {
      // Nothing left to do with it.
    }
  }

  static String describe(XAException e) {
    String m = e.getMessage();
    Throwable c = e.getCause();
    return "XA error " + e.errorCode + (m == null ? "" : " " + m) + (c == null ? "" : " (" + c.getMessage() + ")");
  }

  /** Refuses databases that cannot prepare: PostgreSQL ships with max_prepared_transactions = 0. */
  private void checkDatabase() {
    XAConnection xc = null;
    try {
      xc = dataSource.getXAConnection();
      Connection c = xc.getConnection();
      String product = c.getMetaData().getDatabaseProductName();
      if (product != null && product.toLowerCase().contains("postgresql")) {
        int max;
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SHOW max_prepared_transactions")) {
          rs.next();
          max = Integer.parseInt(rs.getString(1).trim());
        }
        if (max == 0) {
          throw new IllegalStateException("PostgreSQL has max_prepared_transactions = 0, so it cannot prepare"
              + " transactions and participant '" + name + "' cannot take part in two-phase commit. Fix: set"
              + " max_prepared_transactions to at least branchesMax (" + options.branchesMax() + ") and at least"
              + " max_connections, e.g. in postgresql.conf 'max_prepared_transactions = " + Math.max(options.branchesMax(), 100)
              + "' or with ALTER SYSTEM SET max_prepared_transactions = " + Math.max(options.branchesMax(), 100)
              + ", then restart PostgreSQL (the setting needs a restart).");
        }
        if (max < options.branchesMax()) {
          log.warn("participant {}: PostgreSQL max_prepared_transactions = {} is below branchesMax = {}; prepares past {}"
              + " will fail and vote ABORT", name, max, options.branchesMax(), max);
        }
      }
    } catch (SQLException e) {
      throw new IllegalStateException("participant '" + name + "' cannot reach its database: " + e.getMessage(), e);
    } finally {
      closeQuietly(xc);
    }
  }

  /**
   * Stops the deadline reaper and rolls back active branches. Prepared branches are left in doubt
   * with their connections open (closing them would roll them back on H2, h2database#2347); the
   * next start's recovery finishes them.
   */
  @Override
  public void close() {
    closed = true;
    reaper.shutdownNow();
    int prepared = 0;
    for (Branch b : branches.values()) {
      if (!b.lock.tryLock()) continue;
      try {
        if (b.state == State.ACTIVE || b.state == State.NEW) rollbackActive(b, "the participant closed");
        else if (b.state == State.PREPARED) prepared++;
      } finally {
        b.lock.unlock();
      }
    }
    if (prepared > 0) log.warn("participant {}: closing with {} prepared branch(es) in doubt", name, prepared);
    for (Idle i; (i = idle.pollFirst()) != null; ) closeQuietly(i.xaConnection());
    synchronized (recoveryLock) {
      dropRecoveryConnection();
    }
  }
}

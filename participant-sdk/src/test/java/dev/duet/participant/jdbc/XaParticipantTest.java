package dev.duet.participant.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.duet.participant.BranchConflictException;
import dev.duet.participant.support.TestDb;
import dev.duet.wire.AckStatus;
import dev.duet.wire.TxIds;
import dev.duet.wire.Vote;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.file.Path;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The JDBC XA adapter against real databases: H2 in file mode and embedded PostgreSQL, through the
 * same tests. Each test names the PROTOCOL-TRAPS rule it checks where there is one.
 */
class XaParticipantTest {

  @TempDir static Path dir;

  private final List<AutoCloseable> open = new ArrayList<>();

  static Stream<Function<Path, TestDb>> databases() {
    return Stream.of(named("H2", TestDb::h2), named("PostgreSQL", d -> TestDb.pg()));
  }

  private static Function<Path, TestDb> named(String name, Function<Path, TestDb> f) {
    return new Function<>() {
      @Override
      public TestDb apply(Path p) {
        return f.apply(p);
      }

      @Override
      public String toString() {
        return name;
      }
    };
  }

  @AfterEach
  void closeAll() throws Exception {
    for (AutoCloseable c : open) c.close();
  }

  private TestDb db(Function<Path, TestDb> kind) throws SQLException {
    TestDb db = kind.apply(dir).init();
    open.add(db);
    return db;
  }

  private XaParticipant participant(TestDb db, XaOptions options) {
    XaParticipant p = new XaParticipant("p-" + db.table.replace('_', '-'), db.xaDataSource(), options);
    open.add(0, p);
    return p;
  }

  private static long later() {
    return System.currentTimeMillis() + 60_000;
  }

  private static int add(java.sql.Connection c, TestDb db, long amount) throws SQLException {
    try (Statement st = c.createStatement()) {
      return st.executeUpdate("UPDATE " + db.table + " SET balance = balance + " + amount + " WHERE id = 1");
    }
  }

  private static String tx() {
    return TxIds.next(System.currentTimeMillis());
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("databases")
  void commitAfterPrepareMakesTheWorkVisibleOnce(Function<Path, TestDb> kind) throws Exception {
    TestDb db = db(kind);
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    XaParticipant p = participant(db, XaOptions.defaults().withMeterRegistry(registry));
    String tx = tx();
    p.inBranch(tx, later(), c -> add(c, db, 5));
    p.inBranch(tx, later(), c -> add(c, db, 5)); // second piece of work joins the same branch
    assertThat(registry.get("duet.participant.branches.active").gauge().value()).isEqualTo(1);

    assertThat(p.prepare(tx)).isEqualTo(Vote.PREPARED);
    assertThat(p.inDoubt()).containsExactly(tx);
    assertThat(registry.get("duet.participant.branches.in_doubt").gauge().value()).isEqualTo(1);
    assertThat(db.balance()).as("prepared work is not visible yet").isEqualTo(100);

    assertThat(p.commit(tx, false)).isEqualTo(AckStatus.COMMITTED);
    assertThat(p.commit(tx, false)).as("duplicate commit").isEqualTo(AckStatus.COMMITTED);
    assertThat(db.balance()).isEqualTo(110);
    assertThat(p.inDoubt()).isEmpty();
    assertThat(p.inDoubtCount()).isZero();
    assertThat(db.preparedXids()).isEmpty();
    assertThatThrownBy(() -> p.inBranch(tx, later(), c -> add(c, db, 1)))
        .isInstanceOf(SQLException.class).hasMessageContaining("already committed");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("databases")
  void onePhaseCommit(Function<Path, TestDb> kind) throws Exception {
    TestDb db = db(kind);
    XaParticipant p = participant(db, XaOptions.defaults());
    String tx = tx();
    p.inBranch(tx, later(), c -> add(c, db, 7));
    assertThat(p.commit(tx, true)).isEqualTo(AckStatus.COMMITTED);
    assertThat(p.commit(tx, true)).isEqualTo(AckStatus.COMMITTED);
    assertThat(db.balance()).isEqualTo(107);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("databases")
  void failedWorkVotesAbortAndChangesNothing(Function<Path, TestDb> kind) throws Exception {
    TestDb db = db(kind);
    XaParticipant p = participant(db, XaOptions.defaults());
    String tx = tx();
    p.inBranch(tx, later(), c -> add(c, db, 5));
    assertThatThrownBy(() -> p.inBranch(tx, later(), c -> c.createStatement().executeUpdate("UPDATE no_such_table SET x = 1")))
        .isInstanceOf(SQLException.class);
    assertThat(p.prepare(tx)).isEqualTo(Vote.ABORT);
    assertThat(p.rollback(tx)).isEqualTo(AckStatus.ROLLED_BACK);
    assertThat(db.balance()).isEqualTo(100);
    assertThat(p.activeCount()).isZero();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("databases")
  void deadlineRollsBackActiveBranchesButNeverPreparedOnes(Function<Path, TestDb> kind) throws Exception {
    TestDb db = db(kind);
    XaParticipant p = participant(db, XaOptions.defaults().withDeadlineCheckMs(20));
    String active = tx();
    String prepared = tx();
    p.inBranch(active, System.currentTimeMillis() + 300, c -> add(c, db, 1));
    try (var c = db.plain(); Statement st = c.createStatement()) {
      st.execute("CREATE TABLE " + db.table + "_b (id INT PRIMARY KEY)");
    }
    p.inBranch(prepared, System.currentTimeMillis() + 300,
        c -> c.createStatement().executeUpdate("INSERT INTO " + db.table + "_b VALUES (1)"));
    assertThat(p.prepare(prepared)).isEqualTo(Vote.PREPARED);

    // PROTOCOL-TRAPS 10: the reaper rolls back the active branch, so its row lock is released ...
    Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> p.activeCount() == 0);
    assertThat(p.prepare(active)).as("work lost to the deadline votes ABORT").isEqualTo(Vote.ABORT);
    try (var c = db.plain(); Statement st = c.createStatement()) {
      assertThat(st.executeUpdate("UPDATE " + db.table + " SET balance = balance + 1000 WHERE id = 1")).isEqualTo(1);
    }
    assertThat(db.balance()).isEqualTo(1100);

    // ... and never the prepared one, however long past its deadline.
    Thread.sleep(200);
    assertThat(p.inDoubt()).containsExactly(prepared);
    assertThat(p.commit(prepared, false)).isEqualTo(AckStatus.COMMITTED);
    try (var c = db.plain(); Statement st = c.createStatement();
        var rs = st.executeQuery("SELECT COUNT(*) FROM " + db.table + "_b")) {
      rs.next();
      assertThat(rs.getInt(1)).isEqualTo(1);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("databases")
  void duplicateAndReorderedMessages(Function<Path, TestDb> kind) throws Exception {
    TestDb db = db(kind);
    XaParticipant p = participant(db, XaOptions.defaults());

    // Duplicate prepare, duplicate rollback after prepare.
    String a = tx();
    p.inBranch(a, later(), c -> add(c, db, 1));
    assertThat(p.prepare(a)).isEqualTo(Vote.PREPARED);
    assertThat(p.prepare(a)).isEqualTo(Vote.PREPARED);
    assertThat(p.rollback(a)).isEqualTo(AckStatus.ROLLED_BACK);
    assertThat(p.rollback(a)).isEqualTo(AckStatus.ROLLED_BACK);
    assertThat(p.prepare(a)).as("prepare after rollback").isEqualTo(Vote.ABORT);

    // Rollback before prepare (e.g. the client rolled back): later prepare votes ABORT.
    String b = tx();
    p.inBranch(b, later(), c -> add(c, db, 1));
    assertThat(p.rollback(b)).isEqualTo(AckStatus.ROLLED_BACK);
    assertThat(p.prepare(b)).isEqualTo(Vote.ABORT);
    assertThat(p.rollback(b)).isEqualTo(AckStatus.ROLLED_BACK);

    // A two-phase commit of a branch that never prepared is a conflict, and changes nothing.
    String c1 = tx();
    p.inBranch(c1, later(), c -> add(c, db, 1));
    assertThatThrownBy(() -> p.commit(c1, false)).isInstanceOf(BranchConflictException.class);
    assertThat(p.prepare(c1)).isEqualTo(Vote.PREPARED);
    assertThat(p.commit(c1, false)).isEqualTo(AckStatus.COMMITTED);
    assertThat(p.rollback(c1)).as("rollback after commit: reported, never pretended").isEqualTo(AckStatus.HEURISTIC_COMMIT);
    assertThat(p.commit(c1, false)).isEqualTo(AckStatus.COMMITTED);

    assertThat(db.balance()).isEqualTo(101);
    assertThat(db.preparedXids()).isEmpty();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("databases")
  void unknownBranches(Function<Path, TestDb> kind) throws Exception {
    TestDb db = db(kind);
    XaParticipant p = participant(db, XaOptions.defaults());
    // PROTOCOL-TRAPS 11: finished and forgotten → success; lost work → ABORT.
    assertThat(p.commit(tx(), false)).isEqualTo(AckStatus.COMMITTED);
    assertThat(p.rollback(tx())).isEqualTo(AckStatus.ROLLED_BACK);
    assertThat(p.prepare(tx())).isEqualTo(Vote.ABORT);
    assertThat(p.commit(tx(), true)).as("one-phase commit of lost work").isEqualTo(AckStatus.ROLLED_BACK);
    assertThat(db.balance()).isEqualTo(100);
  }

  /**
   * H2 and pgjdbc always answer XA_OK; Oracle and MySQL answer XA_RDONLY for a branch that changed
   * nothing. This makes H2's prepare answer the way those do, to check what the adapter does with
   * such a branch when its READ_ONLY vote is lost on the way: the coordinator then aborts and sends
   * rollback, which must succeed (nothing to undo), not be refused as a conflict and retried forever.
   */
  @Test
  void aReadOnlyBranchWhoseVoteWasLostRollsBackCleanly() throws Exception {
    TestDb db = db(TestDb::h2);
    XaParticipant p = new XaParticipant("p-read-only", withXaResource(db.xaDataSource(), (xa, m, a) -> {
      if (!m.getName().equals("prepare")) return invoke(m, xa, a);
      // Read-only: the database finishes the branch itself and says so.
      xa.rollback((javax.transaction.xa.Xid) a[0]);
      return javax.transaction.xa.XAResource.XA_RDONLY;
    }), XaOptions.defaults());
    open.add(0, p);
    String id = tx();
    long seen = p.inBranch(id, later(), c -> {
      try (Statement st = c.createStatement();
          java.sql.ResultSet rs = st.executeQuery("SELECT balance FROM " + db.table + " WHERE id = 1")) {
        rs.next();
        return rs.getLong(1);
      }
    });
    assertThat(seen).isEqualTo(100);
    assertThat(p.prepare(id)).isEqualTo(Vote.READ_ONLY);
    assertThat(p.prepare(id)).as("a repeated prepare repeats the vote").isEqualTo(Vote.READ_ONLY);
    // The vote never reached the coordinator: it aborted and tells every participant to roll back.
    assertThat(p.rollback(id)).isEqualTo(AckStatus.ROLLED_BACK);
    assertThat(p.rollback(id)).isEqualTo(AckStatus.ROLLED_BACK);
    assertThat(p.inDoubt()).isEmpty();
    assertThat(db.balance()).isEqualTo(100);
  }

  /**
   * PROTOCOL-TRAPS 7: a one-phase commit that reached the database but whose answer was lost
   * (XAER_RMFAIL after the commit) has an unknown outcome. Asked again, the participant must not
   * claim ROLLED_BACK: that would report money that moved as not moved.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("databases")
  void aRepeatedOnePhaseCommitWhoseOutcomeWasUnknownStaysUnknown(Function<Path, TestDb> kind) throws Exception {
    TestDb db = db(kind);
    XaParticipant p = new XaParticipant("p-1pc-unknown", withXaResource(db.xaDataSource(), (xa, m, a) -> {
      Object r = invoke(m, xa, a);
      if (m.getName().equals("commit") && Boolean.TRUE.equals(a[1])) {
        throw new javax.transaction.xa.XAException(javax.transaction.xa.XAException.XAER_RMFAIL);
      }
      return r;
    }), XaOptions.defaults());
    open.add(0, p);
    String id = tx();
    p.inBranch(id, later(), c -> add(c, db, 7));
    assertThatThrownBy(() -> p.commit(id, true)).isInstanceOf(SQLException.class).hasMessageContaining("unknown");
    assertThat(db.balance()).as("the database did commit").isEqualTo(107);
    assertThatThrownBy(() -> p.commit(id, true)).as("the repeat is as unknown as the first")
        .isInstanceOf(SQLException.class).hasMessageContaining("unknown");
  }

  /**
   * PROTOCOL-TRAPS 12: pgjdbc can answer XAER_RMERR for a branch that is still prepared (its backend
   * died). An unexpected XA error in phase 2 is "retry later", never "done": the branch stays in
   * doubt and the coordinator's next commit finishes it. Here the first commit fails that way.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("databases")
  void anUnexpectedXaErrorOnCommitLeavesTheBranchPreparedForTheRetry(Function<Path, TestDb> kind) throws Exception {
    TestDb db = db(kind);
    java.util.concurrent.atomic.AtomicInteger failures = new java.util.concurrent.atomic.AtomicInteger(1);
    XaParticipant p = new XaParticipant("p-rmerr", withXaResource(db.xaDataSource(), (xa, m, a) -> {
      if (m.getName().equals("commit") && failures.getAndDecrement() > 0) {
        throw new javax.transaction.xa.XAException(javax.transaction.xa.XAException.XAER_RMERR);
      }
      return invoke(m, xa, a);
    }), XaOptions.defaults());
    open.add(0, p);
    String id = tx();
    p.inBranch(id, later(), c -> add(c, db, 7));
    assertThat(p.prepare(id)).isEqualTo(Vote.PREPARED);
    assertThatThrownBy(() -> p.commit(id, false)).isInstanceOf(SQLException.class);
    assertThat(p.inDoubt()).as("still prepared, not forgotten").contains(id);
    assertThat(db.preparedXids()).isNotEmpty();
    assertThat(db.balance()).isEqualTo(100);
    assertThat(p.commit(id, false)).isEqualTo(AckStatus.COMMITTED);
    assertThat(db.balance()).isEqualTo(107);
    assertThat(db.preparedXids()).isEmpty();
  }

  /**
   * PROTOCOL-TRAPS 12, h2database#2347: H2 rolls back a prepared branch when its XA connection is
   * closed while the database stays open. So a prepared branch keeps its connection, even while
   * many more branches than the idle pool holds come and go around it.
   */
  @Test
  void aPreparedH2BranchSurvivesConnectionChurnAroundIt() throws Exception {
    TestDb db = db(TestDb::h2);
    XaParticipant p = participant(db, XaOptions.defaults());
    String held = tx();
    p.inBranch(held, later(), c -> add(c, db, 5));
    assertThat(p.prepare(held)).isEqualTo(Vote.PREPARED);
    for (int i = 0; i < 3 * XaParticipant.IDLE_CONNECTIONS_MAX; i++) {
      String other = tx();
      p.inBranch(other, later(), c -> { // a read: the held branch keeps its row lock
        try (Statement st = c.createStatement()) {
          return st.executeQuery("SELECT COUNT(*) FROM " + db.table).next();
        }
      });
      if (i % 2 == 0) {
        assertThat(p.prepare(other)).isEqualTo(Vote.PREPARED);
        assertThat(p.commit(other, false)).isEqualTo(AckStatus.COMMITTED);
      } else {
        assertThat(p.rollback(other)).isEqualTo(AckStatus.ROLLED_BACK);
      }
    }
    assertThat(p.inDoubt()).containsExactly(held);
    assertThat(db.preparedXids()).hasSize(1);
    assertThat(p.commit(held, false)).isEqualTo(AckStatus.COMMITTED);
    assertThat(db.balance()).isEqualTo(105);
  }

  interface XaHook {
    Object call(javax.transaction.xa.XAResource real, java.lang.reflect.Method m, Object[] args) throws Throwable;
  }

  /** {@code ds} whose connections' XAResource goes through {@code hook}: a real database, one answer changed. */
  private javax.sql.XADataSource withXaResource(javax.sql.XADataSource ds, XaHook hook) {
    ClassLoader cl = getClass().getClassLoader();
    return (javax.sql.XADataSource) java.lang.reflect.Proxy.newProxyInstance(cl,
        new Class<?>[] {javax.sql.XADataSource.class}, (proxy, m, args) -> {
          Object r = invoke(m, ds, args);
          if (!m.getName().equals("getXAConnection")) return r;
          javax.sql.XAConnection xc = (javax.sql.XAConnection) r;
          return java.lang.reflect.Proxy.newProxyInstance(cl, new Class<?>[] {javax.sql.XAConnection.class},
              (p2, m2, a2) -> {
                Object r2 = invoke(m2, xc, a2);
                if (!m2.getName().equals("getXAResource")) return r2;
                javax.transaction.xa.XAResource xa = (javax.transaction.xa.XAResource) r2;
                return java.lang.reflect.Proxy.newProxyInstance(cl,
                    new Class<?>[] {javax.transaction.xa.XAResource.class}, (p3, m3, a3) -> hook.call(xa, m3, a3));
              });
        });
  }

  private static Object invoke(java.lang.reflect.Method m, Object target, Object[] args) throws Throwable {
    try {
      return m.invoke(target, args);
    } catch (java.lang.reflect.InvocationTargetException e) {
      throw e.getCause();
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("databases")
  void branchLimitRefusesAtOnceAndFreesOnFinish(Function<Path, TestDb> kind) throws Exception {
    TestDb db = db(kind);
    XaParticipant p = participant(db, XaOptions.defaults().withBranchesMax(2));
    String a = tx();
    String b = tx();
    p.inBranch(a, later(), c -> c.isValid(1));
    p.inBranch(b, later(), c -> c.isValid(1));
    assertThat(p.prepare(b)).isEqualTo(Vote.PREPARED);
    assertThatThrownBy(() -> p.inBranch(tx(), later(), c -> add(c, db, 1)))
        .isInstanceOf(BranchLimitException.class).hasMessageContaining("branchesMax");
    assertThat(p.commit(b, false)).isEqualTo(AckStatus.COMMITTED);
    String d = tx();
    p.inBranch(d, later(), c -> add(c, db, 3));
    assertThat(p.commit(d, true)).isEqualTo(AckStatus.COMMITTED);
    assertThat(db.balance()).isEqualTo(103);
    assertThat(p.rollback(a)).isEqualTo(AckStatus.ROLLED_BACK);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("databases")
  void badArgumentsAreRefused(Function<Path, TestDb> kind) throws Exception {
    TestDb db = db(kind);
    XaParticipant p = participant(db, XaOptions.defaults());
    assertThatThrownBy(() -> p.inBranch("nope", later(), c -> 1)).isInstanceOf(SQLException.class);
    assertThatThrownBy(() -> p.inBranch(tx(), 30_000, c -> 1))
        .isInstanceOf(SQLException.class).hasMessageContaining("absolute time");
    assertThat(p.activeCount()).isZero();
  }

  @Test
  void postgresWithoutPreparedTransactionsIsRefusedWithAFix() throws Exception {
    try (EmbeddedPostgres pg = TestDb.startPostgres(0)) {
      assertThatThrownBy(() -> new XaParticipant("bank", TestDb.pgXa(pg.getPort()), XaOptions.defaults()))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("max_prepared_transactions = 0")
          .hasMessageContaining("ALTER SYSTEM SET max_prepared_transactions")
          .hasMessageContaining("restart PostgreSQL");
    }
  }
}

package dev.duet.bank.faults;

import static org.assertj.core.api.Assertions.assertThat;

import dev.duet.bank.chaos.Cluster;
import dev.duet.bank.chaos.Invariants;
import dev.duet.bank.chaos.Node;
import dev.duet.bank.chaos.Traffic;
import dev.duet.bank.it.Http;
import dev.duet.failpoints.Failpoints;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Each crash failpoint of the protocol, on the demo bank with real processes: transfers run, the
 * failpoint kills its process at that step, the process is restarted on its data, and after
 * recovery the invariants hold — money conserved, every transfer in both banks or neither, what the
 * client was told is true, nothing in doubt, nothing unfinished at the coordinator. One cluster per
 * database serves all seven; only the killed process restarts.
 *
 * <p>{@code -Dduet.faults.transfers=N} commits at least N transfers per failpoint (default 15).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
abstract class FailpointCrashSuite {
  static final int ACCOUNTS = 200;
  static final long INITIAL_BALANCE = 100_000;
  static final int LANES = 4;
  static final int TRANSFERS_PER_FAILPOINT = Integer.getInteger("duet.faults.transfers", 15);
  static final Duration FIRE_TIMEOUT = Duration.ofSeconds(30);
  static final Duration RECOVERY_TIMEOUT = Duration.ofSeconds(60);

  Cluster c;
  private long seed = 100;

  /** PostgreSQL URLs whose pg_prepared_xacts must be empty after recovery; none on H2. */
  abstract List<String> postgresUrls();

  @AfterAll
  void stopCluster() {
    if (c != null) c.close();
  }

  @Test
  @Order(1)
  void participantCrashBeforePrepare() throws Exception {
    crashAndRecover(c.banks.get("bank-a"), Failpoints.PARTICIPANT_BEFORE_PREPARE);
  }

  @Test
  @Order(2)
  void participantCrashAfterPrepareIsDurableBeforeItVotes() throws Exception {
    crashAndRecover(c.banks.get("bank-b"), Failpoints.PARTICIPANT_AFTER_PREPARE);
  }

  @Test
  @Order(3)
  void participantCrashAfterCommitBeforeItAcknowledges() throws Exception {
    crashAndRecover(c.banks.get("bank-a"), Failpoints.PARTICIPANT_AFTER_COMMIT);
  }

  @Test
  @Order(4)
  void coordinatorCrashBeforeTheDecisionIsDurable() throws Exception {
    crashAndRecover(c.coordinator, Failpoints.COORDINATOR_BEFORE_DECISION);
  }

  @Test
  @Order(5)
  void coordinatorCrashAfterTheDecisionIsDurableBeforeAnyCommitIsSent() throws Exception {
    crashAndRecover(c.coordinator, Failpoints.COORDINATOR_AFTER_DECISION);
  }

  @Test
  @Order(6)
  void coordinatorCrashInPhase2WithOneParticipantTold() throws Exception {
    crashAndRecover(c.coordinator, Failpoints.COORDINATOR_MID_PHASE2);
  }

  /**
   * A crash right after a decision leaves a commit to finish; the restarted coordinator crashes
   * again while recovering it, and the third one finishes it.
   */
  @Test
  @Order(7)
  void coordinatorCrashDuringRecovery() throws Exception {
    Traffic t = traffic();
    try {
      arm(c.coordinator, Failpoints.COORDINATOR_AFTER_DECISION + "=crash*1");
      assertThat(c.coordinator.awaitExit(FIRE_TIMEOUT)).as("after-decision crash fired").isEqualTo(Failpoints.CRASH_EXIT_STATUS);
      c.coordinator.launch(List.of("--failpoints", Failpoints.COORDINATOR_RECOVERY + "=crash*1"));
      assertThat(c.coordinator.awaitExit(FIRE_TIMEOUT)).as("recovery crash fired").isEqualTo(Failpoints.CRASH_EXIT_STATUS);
      assertThat(c.coordinator.logTail()).contains("failpoint " + Failpoints.COORDINATOR_RECOVERY + ": crashing");
      c.coordinator.start(Cluster.START_TIMEOUT);
      awaitCommitted(t);
    } finally {
      t.stop();
    }
    verify(t);
  }

  // ---------------------------------------------------------------- steps

  void crashAndRecover(Node victim, String failpoint) throws Exception {
    Traffic t = traffic();
    try {
      arm(victim, failpoint + "=crash*1");
      Integer exit = victim.awaitExit(FIRE_TIMEOUT);
      assertThat(exit).as(failpoint + " fired and killed " + victim.name).isEqualTo(Failpoints.CRASH_EXIT_STATUS);
      assertThat(victim.logTail()).contains("failpoint " + failpoint + ": crashing");
      victim.start(Cluster.START_TIMEOUT); // same port, same data, nothing armed
      awaitCommitted(t);
    } finally {
      t.stop();
    }
    verify(t);
  }

  private Traffic traffic() {
    return new Traffic(c.transfers().url(), Cluster.BANKS, ACCOUNTS, 1_000, LANES, seed++).start();
  }

  /** Transfers go on after the restart until enough have committed: the system works again. */
  private static void awaitCommitted(Traffic t) throws InterruptedException {
    long deadline = System.nanoTime() + RECOVERY_TIMEOUT.toNanos();
    while (t.committed.get() < TRANSFERS_PER_FAILPOINT && System.nanoTime() < deadline) Thread.sleep(50);
    assertThat(t.committed.get()).as("transfers commit again after the restart").isGreaterThanOrEqualTo(TRANSFERS_PER_FAILPOINT);
  }

  private void verify(Traffic t) throws InterruptedException {
    Invariants.Result r = Invariants.check(c.coordinator.url(), c.bankUrls(), c.expectedTotal(),
        (long) ACCOUNTS * INITIAL_BALANCE, t.sent(), postgresUrls(), RECOVERY_TIMEOUT);
    assertThat(r.violations()).as("violations").isEmpty();
    assertThat(r.ledger().committed()).as("every transfer the client saw COMMITTED is in both banks")
        .isEqualTo(t.committed.get());
    assertThat(r.ledger().aborted()).as("no transfer the client saw ABORTED is in either bank").isEqualTo(t.aborted.get());
    assertThat(r.totals().values()).allSatisfy(b -> assertThat(b.inDoubt()).isZero());
  }

  static void arm(Node n, String spec) {
    Http.Response r = Http.send("POST", n.url() + "/admin/failpoints", "{\"spec\":\"" + spec + "\"}");
    assertThat(r.status()).as(r.text()).isEqualTo(200);
  }
}

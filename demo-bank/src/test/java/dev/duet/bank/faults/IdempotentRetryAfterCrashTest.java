package dev.duet.bank.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.duet.bank.chaos.Cluster;
import dev.duet.bank.chaos.Node;
import dev.duet.bank.it.Http;
import dev.duet.bank.load.Audit;
import dev.duet.coordinator.config.CoordinatorConfig;
import dev.duet.coordinator.protocol.ProtocolConfig;
import dev.duet.coordinator.shell.CoordinatorServer;
import dev.duet.failpoints.Failpoints;
import dev.duet.wire.Headers;
import dev.duet.wire.Json;
import dev.duet.wire.TxIds;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * A keyed transfer ({@code Idempotency-Key}) whose first attempt stops midway, retried with the same
 * key: the retry answers the one true outcome and money moves at most once. The demo runs as four
 * real processes (coordinator, bank-a, bank-b, transfers); the first attempt is stopped by
 * SIGKILLing the transfer service while the coordinator is in phase 1 (a bank's prepare delayed by a
 * failpoint), or by a crash failpoint in the coordinator. The retry then finds the PENDING row and
 * resolves it: by the coordinator's answer while it remembers the transaction, by the source bank's
 * ledger once the coordinator has forgotten it (404 TRANSACTION_UNKNOWN).
 *
 * <p>The coordinator is the real {@link CoordinatorServer} in its own process, started by
 * {@link ForgetfulCoordinator} only to keep {@value #RETAINED} ended transactions instead of
 * 100000 (the CLI has no flag for it), so "committed long ago and forgotten" takes a few transfers,
 * not ten minutes.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class IdempotentRetryAfterCrashTest {
  static final int ACCOUNTS = FailpointCrashSuite.ACCOUNTS;
  static final long INITIAL_BALANCE = FailpointCrashSuite.INITIAL_BALANCE;
  /** Ended transactions the coordinator remembers; the oldest is forgotten past it. */
  static final int RETAINED = 3;
  /**
   * The coordinator's prepare timeout here ({@link ForgetfulCoordinator} takes it instead of the
   * Cluster's 5 s): long enough that a retry after the transfer service's restart surely lands
   * while the coordinator is still preparing.
   */
  static final long PREPARE_TIMEOUT_MS = 10_000;
  /** How long a bank's prepare is held when the coordinator must still commit: well inside the timeout. */
  static final long HELD_PREPARE_MS = 7_000;
  static final Duration ANSWER_TIMEOUT = Duration.ofSeconds(30);

  private static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  Cluster c;
  Audit audit;
  /** Keys whose transfer is settled, with the body and the answer it got: for the key-reuse checks. */
  final Map<String, Settled> settled = new LinkedHashMap<>();

  record Move(String fromBank, long fromAccount, String toBank, long toAccount, long amount) {
    String json() {
      return "{\"from\":{\"bank\":\"" + fromBank + "\",\"account\":" + fromAccount + "},\"to\":{\"bank\":\"" + toBank
          + "\",\"account\":" + toAccount + "},\"amount\":" + amount + "}";
    }
  }

  record Settled(Move move, Http.Response answer) {}

  /** Balances of a transfer's two accounts and each bank's ledger row count, read at quiescence. */
  record Snapshot(long from, long to, Map<String, Long> ledgerRows) {}

  @BeforeAll
  void startCluster(@TempDir Path dir) throws Exception {
    List<String> coordinator = Cluster.jvm(List.of("-cp", System.getProperty("java.class.path"),
        ForgetfulCoordinator.class.getName()));
    c = Cluster.start(new Cluster.Options(dir, coordinator, Launch.demo(), null, false, 1, ACCOUNTS, INITIAL_BALANCE,
        2 * PREPARE_TIMEOUT_MS + 5_000, 300));
    audit = new Audit(c.bankUrls());
    assertThat(Audit.sum(audit.awaitQuiescence(ANSWER_TIMEOUT))).isEqualTo(c.expectedTotal());
  }

  /** A test that failed midway may have left a process down: the next one starts with all four up. */
  @BeforeEach
  void everyProcessUp() throws Exception {
    for (Node n : c.nodes()) {
      if (!n.alive()) n.start(Cluster.START_TIMEOUT);
    }
  }

  @AfterAll
  void stopCluster() {
    if (c != null) c.close();
  }

  /**
   * The transfer service dies while the coordinator is preparing its transaction; the coordinator
   * commits it anyway. After the restart the retry answers 201 COMMITTED with that transaction.
   */
  @Test
  @Order(1)
  void transferServiceKilledDuringTheCommit_retryAnswersCommittedAndMoneyMovedOnce() throws Exception {
    Move m = new Move("bank-a", 1, "bank-b", 2, 700);
    String key = "killed-during-commit-1";
    Snapshot before = snapshot(m);

    killTransfersDuringPrepare(c.banks.get("bank-a"), key, m, 1_500);
    c.transfers().start(Cluster.START_TIMEOUT); // same port, same records

    Http.Response r = retryUntilAnswered(key, m, null);
    assertCommitted(r, m);
    // The coordinator still remembers it: this retry took its word.
    Http.Response tx = coordinatorView(r.str("txId"));
    assertThat(tx.status()).as(tx.text()).isEqualTo(200);
    assertThat(tx.str("state")).isIn("COMMITTING", "COMMITTED");
    assertMovedOnce(m, before, r.str("txId"), 0);

    assertSameAnswerAgain(key, m, r);
    settled.put(key, new Settled(m, r));
  }

  /**
   * The same, but the coordinator has forgotten the committed transaction by the time the client
   * retries (404 TRANSACTION_UNKNOWN): only the source bank's ledger can tell that it committed.
   */
  @Test
  @Order(2)
  void committedAndForgottenByTheCoordinator_retryReadsTheSourceLedgerAndAnswersCommitted() throws Exception {
    Move m = new Move("bank-b", 3, "bank-a", 4, 900);
    String key = "killed-then-forgotten-2";
    Snapshot before = snapshot(m);

    killTransfersDuringPrepare(c.banks.get("bank-b"), key, m, 1_500);

    // Transfer service down: find the transaction in the banks' ledgers, as an operator would.
    String txId = await().atMost(ANSWER_TIMEOUT).until(() -> committedTxIdOf(m), id -> id != null);
    await().atMost(ANSWER_TIMEOUT).untilAsserted(() -> assertThat(coordinatorView(txId).str("state")).isEqualTo("COMMITTED"));

    c.transfers().start(Cluster.START_TIMEOUT);
    // Enough newer transactions end that the coordinator forgets this one.
    for (int i = 0; i <= RETAINED; i++) {
      Http.Response filler = Http.send("POST", c.transfers().url() + "/transfers",
          new Move("bank-a", 100 + i, "bank-b", 150 + i, 1).json());
      assertThat(filler.status()).as(filler.text()).isEqualTo(201);
    }
    // (They end once both banks acknowledged, a moment after their 201.)
    await().atMost(ANSWER_TIMEOUT).untilAsserted(() -> {
      Http.Response forgotten = coordinatorView(txId);
      assertThat(forgotten.status()).as(forgotten.text()).isEqualTo(404);
      assertThat(forgotten.str("error")).isEqualTo("TRANSACTION_UNKNOWN");
    });

    Http.Response r = retryUntilAnswered(key, m, null);
    assertCommitted(r, m);
    assertThat(r.str("txId")).as("the transaction the banks committed").isEqualTo(txId);
    assertMovedOnce(m, before, txId, RETAINED + 1);

    assertSameAnswerAgain(key, m, r);
    settled.put(key, new Settled(m, r));
  }

  /**
   * The transfer service dies while a bank's prepare hangs past the prepare timeout: the coordinator
   * aborts. The retry answers 409 ABORTED (503 TRANSFER_IN_PROGRESS while still undecided) and
   * nothing moved.
   */
  @Test
  @Order(3)
  void transferServiceKilledAndTheCoordinatorAborts_retryAnswers409AndNothingMoved() throws Exception {
    Move m = new Move("bank-a", 5, "bank-b", 6, 1_100);
    String key = "killed-then-aborted-3";
    Snapshot before = snapshot(m);

    killTransfersDuringPrepare(c.banks.get("bank-a"), key, m, PREPARE_TIMEOUT_MS + 1_500);
    c.transfers().start(Cluster.START_TIMEOUT);

    List<Http.Response> inProgress = new ArrayList<>();
    Http.Response r = retryUntilAnswered(key, m, inProgress);
    assertAborted(r);
    assertInProgressOf(inProgress, r);
    assertMovedNothing(m, before, r.str("txId"));

    assertSameAnswerAgain(key, m, r);
    settled.put(key, new Settled(m, r));
  }

  /**
   * The coordinator crashes with all votes in and no decision (presumed abort): the client gets 504
   * OUTCOME_UNKNOWN. After the coordinator's restart it does not know the transaction (404); the
   * retry reads the source bank's ledger, finds nothing and answers 409. Meanwhile the same key
   * with another body is refused.
   */
  @Test
  @Order(4)
  void coordinatorCrashesBeforeDeciding_retryAfterItsRestartAnswers409AndNothingMoved() throws Exception {
    Move m = new Move("bank-b", 7, "bank-a", 8, 1_300);
    String key = "coordinator-crashed-4";
    Snapshot before = snapshot(m);

    FailpointCrashSuite.arm(c.coordinator, Failpoints.COORDINATOR_BEFORE_DECISION + "=crash*1");
    Http.Response first = keyed(key, m);
    assertThat(c.coordinator.awaitExit(ANSWER_TIMEOUT)).as("the coordinator crashed").isEqualTo(Failpoints.CRASH_EXIT_STATUS);
    assertThat(first.status()).as(first.text()).isEqualTo(504);
    assertThat(first.str("status")).isEqualTo("UNKNOWN");
    assertThat(first.str("error")).isEqualTo("OUTCOME_UNKNOWN");
    String txId = first.str("txId");
    assertThat(TxIds.isValid(txId)).as(first.text()).isTrue();

    // While the transfer is PENDING (and the coordinator down), the key cannot be reused.
    Http.Response reused = keyed(key, new Move("bank-b", 7, "bank-a", 8, 1_301));
    assertKeyReused(reused);

    c.coordinator.start(Cluster.START_TIMEOUT);
    Http.Response forgotten = coordinatorView(txId);
    assertThat(forgotten.status()).as("presumed abort: " + forgotten.text()).isEqualTo(404);
    assertThat(forgotten.str("error")).isEqualTo("TRANSACTION_UNKNOWN");

    Http.Response r = retryUntilAnswered(key, m, null);
    assertAborted(r);
    assertThat(r.str("txId")).isEqualTo(txId);
    assertThat(r.str("id")).isEqualTo(first.str("id"));
    assertMovedNothing(m, before, txId);

    assertSameAnswerAgain(key, m, r);
    settled.put(key, new Settled(m, r));
  }

  /**
   * A retry that arrives while the coordinator is still preparing must say "in progress" (503),
   * never "aborted": the source ledger is empty then only because nothing has committed yet, and a
   * client told "aborted" would send the money again under a new key. Here the prepare is held
   * {@value #HELD_PREPARE_MS} ms, the retries start as soon as the transfer service is back, and the
   * transaction then commits.
   */
  @Test
  @Order(5)
  void aRetryWhileTheCoordinatorIsStillPreparing_isInProgressThenCommitted() throws Exception {
    Move m = new Move("bank-a", 9, "bank-b", 10, 1_300);
    String key = "retried-while-preparing-5";
    Snapshot before = snapshot(m);

    long killedAt = System.nanoTime();
    killTransfersDuringPrepare(c.banks.get("bank-a"), key, m, HELD_PREPARE_MS);
    c.transfers().start(Cluster.START_TIMEOUT);
    long backAfterMs = Duration.ofNanos(System.nanoTime() - killedAt).toMillis();

    List<Http.Response> inProgress = new ArrayList<>();
    Http.Response r = retryUntilAnswered(key, m, inProgress);
    assertThat(inProgress)
        .as("the transfer service was back %d ms after the kill, inside the %d ms the prepare was held:"
            + " the first retry must have found the transfer in progress; got %s", backAfterMs, HELD_PREPARE_MS, r.text())
        .isNotEmpty();
    assertInProgressOf(inProgress, r);
    assertCommitted(r, m);
    assertMovedOnce(m, before, r.str("txId"), 0);
    assertSameAnswerAgain(key, m, r);
    settled.put(key, new Settled(m, r));
  }

  /**
   * A settled key (committed or aborted after a crash) sent with a different body is a 422 that
   * moves nothing; with its own body it still gets its first answer.
   */
  @Test
  @Order(6)
  void theSameKeyWithAnotherBodyIs422AndMovesNothing() throws Exception {
    assertThat(settled).as("keys settled by the tests before").isNotEmpty();
    Map<String, List<Move>> reuses = new LinkedHashMap<>();
    List<Move> touched = new ArrayList<>();
    for (Map.Entry<String, Settled> e : settled.entrySet()) {
      Move m = e.getValue().move();
      List<Move> others = List.of(
          new Move(m.fromBank(), m.fromAccount(), m.toBank(), m.toAccount(), m.amount() + 1),
          new Move(m.fromBank(), m.fromAccount(), m.toBank(), m.toAccount() + 10, m.amount()),
          new Move(m.toBank(), m.toAccount(), m.fromBank(), m.fromAccount(), m.amount()));
      reuses.put(e.getKey(), others);
      touched.addAll(others);
    }
    Map<String, Object> before = state(touched);
    assertThat(before.get("total")).as("money across both banks").isEqualTo(c.expectedTotal());
    for (Map.Entry<String, List<Move>> e : reuses.entrySet()) {
      for (Move other : e.getValue()) assertKeyReused(keyed(e.getKey(), other));
    }
    assertThat(state(touched)).as("balances and ledgers after the refused requests").isEqualTo(before);
    for (Map.Entry<String, Settled> e : settled.entrySet()) {
      assertSameAnswerAgain(e.getKey(), e.getValue().move(), e.getValue().answer());
    }
  }

  // ---------------------------------------------------------------- steps

  /**
   * Sends the keyed transfer with {@code bank}'s prepare delayed by {@code delayMs}, and SIGKILLs the
   * transfer service as soon as the prepare is being delayed: its PENDING row is written, the
   * coordinator is in phase 1, and the client never hears back.
   */
  private void killTransfersDuringPrepare(Node bank, String key, Move m, long delayMs) throws Exception {
    int fired = firedCount(bank, Failpoints.PARTICIPANT_BEFORE_PREPARE);
    FailpointCrashSuite.arm(bank, Failpoints.PARTICIPANT_BEFORE_PREPARE + "=delay(" + delayMs + ")*1");
    CompletableFuture<Http.Response> first = CompletableFuture.supplyAsync(() -> keyed(key, m));
    await().atMost(ANSWER_TIMEOUT).pollInterval(Duration.ofMillis(20))
        .until(() -> firedCount(bank, Failpoints.PARTICIPANT_BEFORE_PREPARE) > fired);
    c.transfers().kill();
    assertThat(first).as("the first attempt got no answer: the transfer service died under it").failsWithin(ANSWER_TIMEOUT);
  }

  /** Retries like a client told Retry-After: until the answer is not 503. */
  private Http.Response retryUntilAnswered(String key, Move m, List<Http.Response> inProgress) {
    return await().atMost(ANSWER_TIMEOUT).pollInterval(Duration.ofMillis(200)).until(() -> {
      Http.Response r = keyed(key, m);
      if (r.status() == 503 && inProgress != null) inProgress.add(r);
      return r;
    }, r -> r.status() != 503);
  }

  /** Every 503 before the answer said "in progress" about the same transfer and transaction. */
  private static void assertInProgressOf(List<Http.Response> inProgress, Http.Response answer) {
    for (Http.Response p : inProgress) {
      assertThat(p.str("error")).as(p.text()).isEqualTo("TRANSFER_IN_PROGRESS");
      assertThat(p.str("txId")).isEqualTo(answer.str("txId"));
      assertThat(p.str("id")).isEqualTo(answer.str("id"));
    }
  }

  private void assertCommitted(Http.Response r, Move m) {
    assertThat(r.status()).as(r.text()).isEqualTo(201);
    assertThat(r.str("status")).isEqualTo("COMMITTED");
    assertThat(TxIds.isValid(r.str("txId"))).as(r.text()).isTrue();
    assertThat(TxIds.isValid(r.str("id"))).as(r.text()).isTrue();
    assertThat(r.json().path("amount").asLong()).isEqualTo(m.amount());
    assertThat(r.json().path("from").path("bank").asText()).isEqualTo(m.fromBank());
    assertThat(r.json().path("from").path("account").asLong()).isEqualTo(m.fromAccount());
    assertThat(r.json().path("to").path("bank").asText()).isEqualTo(m.toBank());
    assertThat(r.json().path("to").path("account").asLong()).isEqualTo(m.toAccount());
  }

  private static void assertAborted(Http.Response r) {
    assertThat(r.status()).as(r.text()).isEqualTo(409);
    assertThat(r.str("status")).isEqualTo("ABORTED");
    assertThat(r.str("error")).isEqualTo("ABORTED");
    assertThat(TxIds.isValid(r.str("txId"))).as(r.text()).isTrue();
  }

  private static void assertKeyReused(Http.Response r) {
    assertThat(r.status()).as(r.text()).isEqualTo(422);
    assertThat(r.str("error")).isEqualTo("IDEMPOTENCY_KEY_REUSED");
    assertThat(r.str("txId")).as("no transaction for a refused request").isNull();
  }

  /** A settled key answers what it answered, byte for byte, and GET /transfers/{id} agrees. */
  private void assertSameAnswerAgain(String key, Move m, Http.Response answered) {
    Http.Response again = keyed(key, m);
    assertThat(again.status()).isEqualTo(answered.status());
    assertThat(again.json()).isEqualTo(answered.json());
    Http.Response shown = Http.send("GET", c.transfers().url() + "/transfers/" + answered.str("id"), null);
    assertThat(shown.status()).as(shown.text()).isEqualTo(200);
    assertThat(shown.str("status")).isEqualTo(answered.str("status"));
    assertThat(shown.str("txId")).isEqualTo(answered.str("txId"));
  }

  /** Debit and credit once each, under {@code txId}; {@code otherCommits} transfers on other accounts meanwhile. */
  private void assertMovedOnce(Move m, Snapshot before, String txId, int otherCommits) throws Exception {
    Map<String, Audit.BankTotals> totals = audit.awaitQuiescence(ANSWER_TIMEOUT);
    assertThat(balance(m.fromBank(), m.fromAccount())).as("source balance").isEqualTo(before.from() - m.amount());
    assertThat(balance(m.toBank(), m.toAccount())).as("target balance").isEqualTo(before.to() + m.amount());
    assertThat(ledger(m.fromBank(), txId)).as("debit at " + m.fromBank()).containsExactly(m.fromAccount() + ":" + -m.amount());
    assertThat(ledger(m.toBank(), txId)).as("credit at " + m.toBank()).containsExactly(m.toAccount() + ":" + m.amount());
    for (String bank : Cluster.BANKS) {
      assertThat(totals.get(bank).ledgerCount()).as("ledger rows at " + bank + ": this transfer's once, nothing else")
          .isEqualTo(before.ledgerRows().get(bank) + 1 + otherCommits);
    }
    assertThat(Audit.sum(totals)).as("money across both banks").isEqualTo(c.expectedTotal());
  }

  private void assertMovedNothing(Move m, Snapshot before, String txId) throws Exception {
    Map<String, Audit.BankTotals> totals = audit.awaitQuiescence(ANSWER_TIMEOUT);
    assertThat(balance(m.fromBank(), m.fromAccount())).as("source balance").isEqualTo(before.from());
    assertThat(balance(m.toBank(), m.toAccount())).as("target balance").isEqualTo(before.to());
    for (String bank : Cluster.BANKS) {
      assertThat(ledger(bank, txId)).as("ledger of " + txId + " at " + bank).isEmpty();
      assertThat(totals.get(bank).ledgerCount()).as("ledger rows at " + bank).isEqualTo(before.ledgerRows().get(bank));
    }
    assertThat(Audit.sum(totals)).as("money across both banks").isEqualTo(c.expectedTotal());
  }

  // ---------------------------------------------------------------- what a user reads

  private Snapshot snapshot(Move m) throws Exception {
    Map<String, Audit.BankTotals> totals = audit.awaitQuiescence(ANSWER_TIMEOUT);
    Map<String, Long> rows = new LinkedHashMap<>();
    totals.forEach((bank, t) -> rows.put(bank, t.ledgerCount()));
    return new Snapshot(balance(m.fromBank(), m.fromAccount()), balance(m.toBank(), m.toAccount()), rows);
  }

  /** Every balance the moves touch, each bank's ledger row count and the sum of all balances, at quiescence. */
  private Map<String, Object> state(List<Move> moves) throws Exception {
    Map<String, Audit.BankTotals> totals = audit.awaitQuiescence(ANSWER_TIMEOUT);
    Map<String, Object> s = new LinkedHashMap<>();
    for (Move m : moves) {
      s.put(m.fromBank() + ":" + m.fromAccount(), balance(m.fromBank(), m.fromAccount()));
      s.put(m.toBank() + ":" + m.toAccount(), balance(m.toBank(), m.toAccount()));
    }
    totals.forEach((bank, t) -> s.put(bank + " ledger rows", t.ledgerCount()));
    s.put("total", Audit.sum(totals));
    return s;
  }

  private long balance(String bank, long account) {
    Http.Response r = Http.send("GET", c.banks.get(bank).url() + "/accounts/" + account, null);
    assertThat(r.status()).as(r.text()).isEqualTo(200);
    return r.json().get("balance").asLong();
  }

  /** Committed ledger rows of a transaction at a bank, as "account:amount". */
  private List<String> ledger(String bank, String txId) {
    Http.Response r = Http.send("GET", c.banks.get(bank).url() + "/ledger/" + txId, null);
    assertThat(r.status()).as(r.text()).isEqualTo(200);
    List<String> out = new ArrayList<>();
    r.json().get("entries").forEach(e -> out.add(e.get("account").asLong() + ":" + e.get("amount").asLong()));
    return out;
  }

  /**
   * The transaction whose debit of {@code m} is in the source bank's ledger and whose credit is in the
   * target bank's; null until both are (phase 2 tells the banks one after the other).
   */
  private String committedTxIdOf(Move m) throws Exception {
    Map<String, Map<String, List<Audit.Entry>>> all = audit.ledger(null);
    for (Map.Entry<String, List<Audit.Entry>> tx : all.get(m.fromBank()).entrySet()) {
      if (!tx.getValue().contains(new Audit.Entry(m.fromAccount(), -m.amount()))) continue;
      List<Audit.Entry> credit = all.get(m.toBank()).get(tx.getKey());
      if (credit != null && credit.contains(new Audit.Entry(m.toAccount(), m.amount()))) return tx.getKey();
    }
    return null;
  }

  private Http.Response coordinatorView(String txId) {
    return Http.send("GET", c.coordinator.url() + "/v1/transactions/" + txId, null);
  }

  private static int firedCount(Node n, String failpoint) {
    Http.Response r = Http.send("GET", n.url() + "/admin/failpoints", null);
    assertThat(r.status()).as(r.text()).isEqualTo(200);
    return r.json().path("fired").path(failpoint).asInt(0);
  }

  /** {@code POST /transfers} with an Idempotency-Key; throws if no answer comes. */
  private Http.Response keyed(String key, Move m) {
    HttpRequest req = HttpRequest.newBuilder(URI.create(c.transfers().url() + "/transfers")).timeout(ANSWER_TIMEOUT)
        .header("Content-Type", "application/json").header(Headers.IDEMPOTENCY_KEY, key)
        .POST(HttpRequest.BodyPublishers.ofString(m.json())).build();
    try {
      HttpResponse<String> r = CLIENT.send(req, HttpResponse.BodyHandlers.ofString());
      return new Http.Response(r.statusCode(), Json.LENIENT.readTree(r.body()), r.body());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    } catch (Exception e) {
      throw new IllegalStateException("POST /transfers got no answer: " + e, e);
    }
  }

  // ---------------------------------------------------------------- the coordinator process

  /**
   * The coordinator's own server, as {@code dev.duet.coordinator.Main} starts it, but remembering
   * only {@value #RETAINED} ended transactions and preparing for up to {@value #PREPARE_TIMEOUT_MS} ms.
   * Takes the other flags {@link Cluster} passes.
   */
  static final class ForgetfulCoordinator {
    public static void main(String[] args) throws Exception {
      Map<String, String> flags = new LinkedHashMap<>();
      for (int i = 0; i < args.length; i++) {
        if (args[i].equals("--chaos")) flags.put("--chaos", "true");
        else flags.put(args[i], args[++i]);
      }
      Failpoints.configure(flags.get("--failpoints"));
      long prepareTimeoutMs = PREPARE_TIMEOUT_MS;
      long backoffMaxMs = Long.parseLong(flags.getOrDefault("--retry-backoff-max-ms", "30000"));
      CoordinatorConfig base = CoordinatorConfig.defaults(Path.of(flags.get("--data-dir")), Integer.parseInt(flags.get("--port")));
      ProtocolConfig protocol = base.protocol().withPrepareTimeoutMs(prepareTimeoutMs)
          .withRetryBackoffMs(Math.min(50, backoffMaxMs), backoffMaxMs)
          .withFinishedRetained(RETAINED, base.protocol().finishedRetainMs());
      CoordinatorConfig config = new CoordinatorConfig(base.host(), base.port(), base.dataDir(),
          Integer.parseInt(flags.getOrDefault("--shards", "1")), protocol,
          Math.min(base.prepareCallTimeoutMs(), prepareTimeoutMs), base.phase2CallTimeoutMs(),
          base.connectionsPerHostMax(), base.pendingRequestsMax(), flags.get("--signing-secret"), null, true,
          base.segmentBytesMax(), base.tickMs(), flags.containsKey("--chaos"));
      CoordinatorServer.start(config);
      System.out.println("forgetful coordinator ready on port " + base.port());
      Thread.currentThread().join(); // until killed
    }
  }
}

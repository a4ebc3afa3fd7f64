package dev.duet.bank.it;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.duet.bank.load.Audit;
import dev.duet.bank.load.LoadCommand;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/** The demo on H2 files: real coordinator, two bank processes, the transfer service, real HTTP. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TransfersH2Test {
  DemoCluster c;
  long totalAtStart;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    c = DemoCluster.start(dir, bank -> List.of("--data-dir", dir.resolve(bank).toString()));
    totalAtStart = Audit.sum(c.audit.awaitQuiescence(Duration.ofSeconds(30)));
    assertThat(totalAtStart).isEqualTo(2L * DemoCluster.ACCOUNTS * DemoCluster.INITIAL_BALANCE);
  }

  @AfterAll
  void stop() throws Exception {
    if (c != null) c.close();
  }

  @Test
  @Order(1)
  void aTransferMovesMoneyInBothBanksAndWritesBothLedgers() {
    Scenarios.transferMovesMoneyAndWritesBothLedgers(c, 1, 2);
  }

  @Test
  @Order(2)
  void anOverdraftIsRefusedWith409AndMovesNothing() throws Exception {
    Scenarios.overdraftIsRefusedAndMovesNothing(c, 3, 4);
  }

  @Test
  @Order(3)
  void concurrentTransfersFromOneAccountNeverOverdrawIt() throws Exception {
    long source = 5;
    long start = c.balance("bank-a", source);
    long amount = 7_000;
    int attempts = 30; // 210000 asked of an account holding 100000
    ExecutorService pool = Executors.newFixedThreadPool(10);
    List<Future<Http.Response>> answers = new ArrayList<>();
    try {
      for (int i = 0; i < attempts; i++) {
        long target = 10 + i;
        answers.add(pool.submit(() -> Http.post(c.transfersUrl() + "/transfers",
            Http.transfer("bank-a", source, "bank-b", target, amount))));
      }
      int committed = 0;
      for (Future<Http.Response> f : answers) {
        Http.Response r = f.get();
        assertThat(r.status()).as(r.text()).isIn(201, 409);
        if (r.status() == 201) committed++;
        // On a loaded machine a debit may also time out (BANK_UNAVAILABLE): aborted, nothing moved.
        else assertThat(r.str("error")).isIn("INSUFFICIENT_FUNDS", "ACCOUNT_BUSY", "BANK_UNAVAILABLE");
      }
      c.audit.awaitQuiescence(Duration.ofSeconds(30));
      long end = c.balance("bank-a", source);
      assertThat(committed).isBetween(1, (int) (start / amount));
      assertThat(end).isEqualTo(start - committed * amount).isGreaterThanOrEqualTo(0);
    } finally {
      pool.shutdownNow();
    }
    assertThat(Audit.sum(c.audit.awaitQuiescence(Duration.ofSeconds(30)))).isEqualTo(totalAtStart);
  }

  @Test
  @Order(4)
  void badInputGetsAJson4xxAndMovesNothing() throws Exception {
    Map<String, Audit.BankTotals> before = c.audit.awaitQuiescence(Duration.ofSeconds(30));
    String url = c.transfersUrl() + "/transfers";
    record Case(String body, int status, String error) {}
    List<Case> cases = List.of(
        new Case(Http.transfer("bank-a", 1, "bank-b", 2, -5), 422, "INVALID_AMOUNT"),
        new Case(Http.transfer("bank-a", 1, "bank-b", 2, 0), 422, "INVALID_AMOUNT"),
        new Case(Http.transfer("bank-a", 1, "bank-b", 2, Long.MAX_VALUE), 422, "INVALID_AMOUNT"),
        new Case("{\"from\":{\"bank\":\"bank-a\",\"account\":1},\"to\":{\"bank\":\"bank-b\",\"account\":2},"
            + "\"amount\":123456789012345678901234567890}", 422, "INVALID_AMOUNT"),
        new Case("{\"from\":{\"bank\":\"bank-a\",\"account\":1},\"to\":{\"bank\":\"bank-b\",\"account\":2},\"amount\":25.5}",
            400, "BAD_REQUEST"),
        new Case("{\"from\":{\"bank\":\"bank-a\",\"account\":1},\"to\":{\"bank\":\"bank-b\",\"account\":2},\"amount\":\"100\"}",
            400, "BAD_REQUEST"),
        new Case("{\"from\":{\"bank\":\"bank-a\",\"account\":\"1\"},\"to\":{\"bank\":\"bank-b\",\"account\":2},\"amount\":100}",
            400, "BAD_REQUEST"),
        new Case("{\"from\":{\"bank\":7,\"account\":1},\"to\":{\"bank\":\"bank-b\",\"account\":2},\"amount\":100}",
            400, "BAD_REQUEST"),
        new Case(Http.transfer("bank-a", 1, "bank-a", 1, 100), 422, "SAME_ACCOUNT"),
        new Case(Http.transfer("bank-z", 1, "bank-b", 2, 100), 422, "UNKNOWN_BANK"),
        new Case(Http.transfer("bank-a", 1, "bank-b", 999_999, 100), 422, "ACCOUNT_UNKNOWN"),
        new Case(Http.transfer("bank-a", 999_999, "bank-b", 1, 100), 422, "ACCOUNT_UNKNOWN"),
        new Case(Http.transfer("bank-a", 0, "bank-b", 1, 100), 422, "INVALID_ACCOUNT"),
        new Case("{\"from\":{\"bank\":\"bank-a\",\"account\":1},\"amount\":100}", 400, "BAD_REQUEST"),
        new Case("{\"from\":{\"bank\":\"bank-a\",\"account\":1},\"to\":{\"bank\":\"bank-b\",\"account\":2},\"amount\":1,\"x\":1}",
            400, "BAD_REQUEST"),
        new Case("{\"from\": {\"bank\": \"bank-a\", ", 400, "BAD_JSON"),
        new Case("[1, 2]", 400, "BAD_REQUEST"),
        new Case("", 400, "BAD_JSON"),
        new Case("{\"amount\": 1} trailing", 400, "BAD_JSON"),
        new Case("{\"pad\":\"" + "x".repeat(10_000) + "\"}", 413, "BODY_TOO_LARGE"));
    for (Case k : cases) {
      Http.Response r = Http.post(url, k.body());
      assertThat(r.status()).as(k.body().length() > 200 ? "oversize body" : k.body() + " -> " + r.text()).isEqualTo(k.status());
      assertThat(r.str("error")).as(r.text()).isEqualTo(k.error());
      assertThat(r.str("message")).as(r.text()).isNotBlank();
    }
    // The banks refuse money moves outside a transaction, and bad amounts, with JSON too.
    Http.Response direct = Http.post(c.bankA.url() + "/accounts/1/debit", "{\"amount\": 1}");
    assertThat(direct.status()).isEqualTo(428);
    assertThat(direct.str("error")).isEqualTo("TRANSACTION_REQUIRED");
    // Inside a transaction the body is checked before the bank joins it: nothing is enlisted (this
    // header even names a coordinator that is not there).
    String[] tx = {"Duet-Transaction", "http://127.0.0.1:9/v1/transactions/01ARZ3NDEKTSV4RRFFQ69G5FAV"};
    Http.Response malformed = Http.post(c.bankA.url() + "/accounts/1/debit", "{\"amount\": ", tx);
    assertThat(malformed.status()).as(malformed.text()).isEqualTo(400);
    assertThat(malformed.str("error")).isEqualTo("BAD_JSON");
    Http.Response extra = Http.post(c.bankA.url() + "/accounts/1/credit", "{\"amount\": 1, \"to\": 2}", tx);
    assertThat(extra.status()).as(extra.text()).isEqualTo(400);
    assertThat(extra.str("message")).contains("unknown field 'to'");
    assertThat(Http.get(c.bankA.url() + "/accounts/abc").status()).isEqualTo(400);
    assertThat(Http.get(c.bankA.url() + "/accounts/999999").status()).isEqualTo(404);
    Map<String, Audit.BankTotals> after = c.audit.awaitQuiescence(Duration.ofSeconds(30));
    assertThat(after).isEqualTo(before);
  }

  @Test
  @Order(5)
  void aRetryWithTheSameIdempotencyKeyGetsTheFirstResultAndMovesMoneyOnce() throws Exception {
    Scenarios.idempotencyKeyMovesMoneyOnce(c, 6, 7);
  }

  /**
   * bank-b is SIGKILLed in the middle of a burst of transfers and restarted on the same data. Its
   * prepared branches survive in the H2 file; recovery asks the coordinator and finishes them.
   */
  @Test
  @Order(6)
  void killingBankBMidBurstNeitherCreatesNorDestroysMoney() throws Exception {
    Map<String, Audit.BankTotals> before = c.audit.awaitQuiescence(Duration.ofSeconds(30));
    assertThat(Audit.sum(before)).isEqualTo(totalAtStart);
    ExecutorService runner = Executors.newSingleThreadExecutor();
    try {
      // The coordinator and the transfer service run in this JVM: a bank's death is a WARN there
      // (unreachable, retrying), never an ERROR per reset connection.
      ch.qos.logback.classic.Logger root = (ch.qos.logback.classic.Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
      ListAppender<ILoggingEvent> logged = new ListAppender<>();
      logged.start();
      root.addAppender(logged);
      Future<LoadCommand.Result> burst = runner.submit(() ->
          LoadCommand.run(c.transfersUrl(), before, 8, 7, 2_000, 42));
      Thread.sleep(2_000);
      c.bankB.kill();
      Thread.sleep(1_500);
      c.bankB.launch();
      LoadCommand.Result r = burst.get();
      root.detachAppender(logged);
      assertThat(List.copyOf(logged.list)).filteredOn(e -> e.getLevel().isGreaterOrEqual(Level.ERROR))
          .extracting(ILoggingEvent::getFormattedMessage).isEmpty();
      System.out.printf("burst with bank-b killed: %d committed, %d aborted %s, %d unknown, %d failed%n",
          r.committed(), r.aborted(), r.abortReasons(), r.unknown(), r.failed());
      Map<String, Audit.BankTotals> after = c.audit.awaitQuiescence(Duration.ofSeconds(60));
      assertThat(Audit.sum(after)).as("sum of all balances").isEqualTo(totalAtStart);
      Audit.LedgerCheck ledger = c.audit.checkLedger(r.sent());
      assertThat(ledger.problems()).isEmpty();
      assertThat(ledger.ok()).isTrue();
      assertThat(ledger.committed()).as("every transfer the client saw COMMITTED is in both ledgers")
          .isEqualTo(r.committed()).isPositive();
      assertThat(ledger.aborted()).isEqualTo(r.aborted());
      // The kill was felt: some transfers aborted or ended unknown while bank-b was down.
      assertThat(r.aborted() + r.unknown() + r.failed()).isPositive();
      assertThat(after.values()).allMatch(t -> t.inDoubt() == 0);
    } finally {
      runner.shutdownNow();
    }
  }
}

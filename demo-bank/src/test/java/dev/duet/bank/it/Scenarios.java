package dev.duet.bank.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.duet.bank.load.Audit;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.ArrayList;

/** What a user checks, shared by the H2 and the PostgreSQL runs. Each scenario uses its own accounts. */
final class Scenarios {
  private Scenarios() {}

  static void transferMovesMoneyAndWritesBothLedgers(DemoCluster c, long from, long to) {
    long a0 = c.balance("bank-a", from);
    long b0 = c.balance("bank-b", to);
    Http.Response r = Http.post(c.transfersUrl() + "/transfers", Http.transfer("bank-a", from, "bank-b", to, 2500));
    assertThat(r.status()).as(r.text()).isEqualTo(201);
    assertThat(r.str("status")).isEqualTo("COMMITTED");
    String txId = r.str("txId");
    assertThat(txId).isNotNull();
    // Phase 2 may still be on its way to the second bank when the client hears COMMITTED.
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      assertThat(c.balance("bank-a", from)).isEqualTo(a0 - 2500);
      assertThat(c.balance("bank-b", to)).isEqualTo(b0 + 2500);
    });
    assertThat(c.ledger("bank-a", txId)).containsExactly(from + ":-2500");
    assertThat(c.ledger("bank-b", txId)).containsExactly(to + ":2500");
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      Http.Response shown = Http.get(c.transfersUrl() + "/transfers/" + r.str("id"));
      assertThat(shown.status()).isEqualTo(200);
      assertThat(shown.str("status")).isEqualTo("COMMITTED");
      assertThat(shown.json().get("transaction").get("state").asText()).isEqualTo("COMMITTED");
    });
    // The other direction works too: either bank can be the source.
    Http.Response back = Http.post(c.transfersUrl() + "/transfers", Http.transfer("bank-b", to, "bank-a", from, 500));
    assertThat(back.status()).as(back.text()).isEqualTo(201);
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      assertThat(c.balance("bank-a", from)).isEqualTo(a0 - 2000);
      assertThat(c.balance("bank-b", to)).isEqualTo(b0 + 2000);
    });
  }

  static void overdraftIsRefusedAndMovesNothing(DemoCluster c, long from, long to) throws Exception {
    long a0 = c.balance("bank-a", from);
    long b0 = c.balance("bank-b", to);
    Http.Response r = Http.post(c.transfersUrl() + "/transfers", Http.transfer("bank-a", from, "bank-b", to, a0 + 1));
    assertThat(r.status()).as(r.text()).isEqualTo(409);
    assertThat(r.str("status")).isEqualTo("ABORTED");
    assertThat(r.str("error")).isEqualTo("INSUFFICIENT_FUNDS");
    assertThat(r.str("reason")).isNotBlank();
    c.audit.awaitQuiescence(Duration.ofSeconds(30));
    assertThat(c.balance("bank-a", from)).isEqualTo(a0);
    assertThat(c.balance("bank-b", to)).isEqualTo(b0);
    assertThat(c.ledger("bank-a", r.str("txId"))).isEmpty();
    assertThat(c.ledger("bank-b", r.str("txId"))).isEmpty();
  }

  /**
   * A retried request with the same Idempotency-Key gets the first answer and moves money once,
   * also when the retries race the first attempt; the same key with another body is refused.
   */
  static void idempotencyKeyMovesMoneyOnce(DemoCluster c, long from, long to) throws Exception {
    long a0 = c.balance("bank-a", from);
    long b0 = c.balance("bank-b", to);
    String body = Http.transfer("bank-a", from, "bank-b", to, 1234);
    String key = "key-" + System.nanoTime();
    ExecutorService pool = Executors.newFixedThreadPool(4);
    List<Http.Response> answers = new ArrayList<>();
    try {
      List<Future<Http.Response>> racing = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        racing.add(pool.submit(() -> Http.post(c.transfersUrl() + "/transfers", body, "Idempotency-Key", key)));
      }
      for (Future<Http.Response> f : racing) answers.add(f.get());
    } finally {
      pool.shutdownNow();
    }
    answers.add(Http.post(c.transfersUrl() + "/transfers", body, "Idempotency-Key", key));
    Http.Response first = answers.get(0);
    assertThat(first.status()).as(first.text()).isEqualTo(201);
    for (Http.Response r : answers) {
      assertThat(r.status()).as(r.text()).isEqualTo(201);
      assertThat(r.str("id")).isEqualTo(first.str("id"));
      assertThat(r.str("txId")).isEqualTo(first.str("txId"));
    }
    Http.Response other = Http.post(c.transfersUrl() + "/transfers", Http.transfer("bank-a", from, "bank-b", to, 1),
        "Idempotency-Key", key);
    assertThat(other.status()).as(other.text()).isEqualTo(422);
    assertThat(other.str("error")).isEqualTo("IDEMPOTENCY_KEY_REUSED");
    Map<String, Audit.BankTotals> t = c.audit.awaitQuiescence(Duration.ofSeconds(30));
    assertThat(t).isNotEmpty();
    assertThat(c.balance("bank-a", from)).isEqualTo(a0 - 1234);
    assertThat(c.balance("bank-b", to)).isEqualTo(b0 + 1234);
  }
}

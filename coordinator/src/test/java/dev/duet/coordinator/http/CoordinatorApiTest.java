package dev.duet.coordinator.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.duet.coordinator.config.CoordinatorConfig;
import dev.duet.coordinator.protocol.ProtocolConfig;
import dev.duet.coordinator.shell.CoordinatorServer;
import dev.duet.wire.Limits;
import dev.duet.wire.Vote;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/** The coordinator over real HTTP on loopback, with participants that speak the wire protocol. */
class CoordinatorApiTest {

  @TempDir Path dataDir;
  Vertx vertx;
  CoordinatorServer server;
  Http http;
  TestParticipant a;
  TestParticipant b;

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    a = new TestParticipant(vertx, "bank-a");
    b = new TestParticipant(vertx, "bank-b");
    server = CoordinatorServer.start(config(dataDir));
    http = new Http("http://127.0.0.1:" + server.port());
  }

  static CoordinatorConfig config(Path dir) {
    return CoordinatorConfig.defaults(dir, 0).withShards(2)
        .withProtocol(ProtocolConfig.defaults().withPrepareTimeoutMs(1_000).withRetryBackoffMs(20, 200))
        .withPhase2CallTimeoutMs(1_000);
  }

  @AfterEach
  void stop() throws Exception {
    if (server != null) server.close();
    a.close();
    b.close();
    vertx.close().toCompletionStage().toCompletableFuture().get();
  }

  String begin() {
    Http.Response r = http.post("/v1/transactions", "{\"timeoutMs\": 30000}");
    assertThat(r.status()).isEqualTo(201);
    assertThat(r.str("state")).isEqualTo("ACTIVE");
    assertThat(r.raw().headers().firstValue("Location")).hasValue("/v1/transactions/" + r.str("id"));
    return r.str("id");
  }

  void enlist(String id, TestParticipant p) {
    Http.Response r = http.post("/v1/transactions/" + id + "/participants",
        "{\"name\":\"" + p.name + "\",\"url\":\"" + p.url() + "\"}");
    assertThat(r.status()).as(r.text()).isEqualTo(201);
  }

  @Test
  void twoPhaseCommitTellsEveryParticipantAndEnds() {
    String id = begin();
    enlist(id, a);
    enlist(id, b);
    Http.Response r = http.post("/v1/transactions/" + id + "/commit?wait=true", null);
    assertThat(r.status()).as(r.text()).isEqualTo(200);
    assertThat(r.str("outcome")).isEqualTo("COMMITTED");
    // ?wait=true answers only after every participant acknowledged.
    assertThat(a.branches.get(id)).isEqualTo(TestParticipant.BranchState.COMMITTED);
    assertThat(b.branches.get(id)).isEqualTo(TestParticipant.BranchState.COMMITTED);
    assertThat(a.count("prepare", id)).isEqualTo(1);
    Http.Response s = http.get("/v1/transactions/" + id);
    assertThat(s.str("state")).isEqualTo("COMMITTED");
    assertThat(s.json().get("participants")).hasSize(2);
    assertThat(s.json().get("participants").get(0).get("acknowledged").asBoolean()).isTrue();
    // Committing twice returns the same outcome and runs no second round.
    assertThat(http.post("/v1/transactions/" + id + "/commit", null).str("outcome")).isEqualTo("COMMITTED");
    assertThat(a.count("prepare", id)).isEqualTo(1);
    assertThat(http.post("/v1/transactions/" + id + "/rollback", null).status()).isEqualTo(409);
  }

  @Test
  void aVoteToAbortAbortsAndNamesTheParticipant() {
    b.vote = Vote.ABORT;
    String id = begin();
    enlist(id, a);
    enlist(id, b);
    Http.Response r = http.post("/v1/transactions/" + id + "/commit", null);
    assertThat(r.status()).isEqualTo(409);
    assertThat(r.str("outcome")).isEqualTo("ABORTED");
    assertThat(r.str("reason")).contains("bank-b").contains("ABORT");
    await().atMost(Duration.ofSeconds(5)).until(() -> a.branches.get(id) == TestParticipant.BranchState.ROLLED_BACK);
    assertThat(a.count("commit", id) + b.count("commit", id)).isZero();
    assertThat(http.post("/v1/transactions/" + id + "/commit", null).str("outcome")).isEqualTo("ABORTED");
  }

  @Test
  void aSilentParticipantTimesPhaseOneOut() {
    b.prepareDelayMs = 3_000;
    String id = begin();
    enlist(id, a);
    enlist(id, b);
    Http.Response r = http.post("/v1/transactions/" + id + "/commit", null);
    assertThat(r.status()).isEqualTo(409);
    assertThat(r.str("reason")).contains("bank-b");
    // b's PREPARED vote arrives late and is answered with rollback (PROTOCOL-TRAPS 4).
    await().atMost(Duration.ofSeconds(10)).until(() -> b.branches.get(id) == TestParticipant.BranchState.ROLLED_BACK);
    assertThat(a.branches.get(id)).isEqualTo(TestParticipant.BranchState.ROLLED_BACK);
  }

  @Test
  void theTransactionTimeoutAbortsAnActiveTransaction() {
    Http.Response begun = http.post("/v1/transactions", "{\"timeoutMs\": 200}");
    String id = begun.str("id");
    enlist(id, a);
    await().atMost(Duration.ofSeconds(5)).until(() -> "ABORTED".equals(http.get("/v1/transactions/" + id).str("state")));
    assertThat(http.post("/v1/transactions/" + id + "/commit", null).status()).isEqualTo(409);
    Http.Response late = http.post("/v1/transactions/" + id + "/participants",
        "{\"name\":\"bank-b\",\"url\":\"" + b.url() + "\"}");
    assertThat(late.status()).isEqualTo(409);
    assertThat(late.str("error")).isEqualTo("TRANSACTION_NOT_ACTIVE");
  }

  @Test
  void oneParticipantCommitsInOnePhaseWithoutPrepare() {
    String id = begin();
    enlist(id, a);
    Http.Response r = http.post("/v1/transactions/" + id + "/commit", null);
    assertThat(r.status()).isEqualTo(200);
    assertThat(a.calls).containsExactly(new TestParticipant.Call("commit", id, true));
    assertThat(http.get("/v1/transactions/" + id).json().get("onePhase").asBoolean()).isTrue();
  }

  @Test
  void oneParticipantThatNeverAnswersIsUnknownNotAborted() {
    a.down = true;
    String id = begin();
    enlist(id, a);
    Http.Response r = http.post("/v1/transactions/" + id + "/commit", null);
    assertThat(r.status()).isEqualTo(504);
    assertThat(r.str("outcome")).isEqualTo("UNKNOWN");
    assertThat(r.str("error")).isEqualTo("OUTCOME_UNKNOWN");
    assertThat(http.get("/v1/transactions/" + id).str("state")).isEqualTo("UNKNOWN");
  }

  @Test
  void readOnlyVotersSitOutPhaseTwo() {
    a.vote = Vote.READ_ONLY;
    String id = begin();
    enlist(id, a);
    enlist(id, b);
    assertThat(http.post("/v1/transactions/" + id + "/commit?wait=true", null).status()).isEqualTo(200);
    assertThat(a.count("commit", id)).isZero();
    assertThat(b.branches.get(id)).isEqualTo(TestParticipant.BranchState.COMMITTED);
  }

  @Test
  void phaseTwoIsRetriedUntilTheParticipantAcknowledges() {
    b.phase2FailuresLeft.set(5);
    String id = begin();
    enlist(id, a);
    enlist(id, b);
    assertThat(http.post("/v1/transactions/" + id + "/commit", null).status()).isEqualTo(200);
    assertThat(http.get("/v1/transactions/" + id).str("state")).isIn("COMMITTING", "COMMITTED");
    await().atMost(Duration.ofSeconds(10)).until(() -> b.branches.get(id) == TestParticipant.BranchState.COMMITTED);
    await().atMost(Duration.ofSeconds(5)).until(() -> "COMMITTED".equals(http.get("/v1/transactions/" + id).str("state")));
    assertThat(b.count("commit", id)).isEqualTo(6);
  }

  @Test
  void aDownParticipantIsRetriedAcrossAStopAndRestartOfTheCoordinator() throws Exception {
    b.phase2FailuresLeft.set(Integer.MAX_VALUE);
    String id = begin();
    enlist(id, a);
    enlist(id, b);
    assertThat(http.post("/v1/transactions/" + id + "/commit", null).status()).isEqualTo(200);
    await().atMost(Duration.ofSeconds(5)).until(() -> b.count("commit", id) >= 2);
    server.close();
    server = null;
    b.phase2FailuresLeft.set(0);
    server = CoordinatorServer.start(config(dataDir));
    assertThat(server.recovered()).isEqualTo(1);
    http = new Http("http://127.0.0.1:" + server.port());
    await().atMost(Duration.ofSeconds(10)).until(() -> b.branches.get(id) == TestParticipant.BranchState.COMMITTED);
    await().atMost(Duration.ofSeconds(5)).until(() -> "COMMITTED".equals(http.get("/v1/transactions/" + id).str("state")));
  }

  /**
   * Shutdown while phase 2 is being retried: a retry timer firing after the HTTP clients closed
   * used to call a closed client, and the event loop logged an unhandled exception with its stack
   * trace. The race is narrow, so the test closes a busy coordinator several times.
   */
  @Test
  void closingWhilePhaseTwoIsRetriedLogsNoError() throws Exception {
    server.close();
    b.phase2FailuresLeft.set(Integer.MAX_VALUE);
    ch.qos.logback.classic.Logger root = (ch.qos.logback.classic.Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    ListAppender<ILoggingEvent> capture = new ListAppender<>();
    capture.start();
    root.addAppender(capture);
    try {
      for (int i = 0; i < 8; i++) {
        server = CoordinatorServer.start(config(dataDir).withProtocol(
            ProtocolConfig.defaults().withPrepareTimeoutMs(1_000).withRetryBackoffMs(1, 2)));
        http = new Http("http://127.0.0.1:" + server.port());
        String id = begin();
        enlist(id, a);
        enlist(id, b);
        assertThat(http.post("/v1/transactions/" + id + "/commit", null).status()).isEqualTo(200);
        long before = b.count("commit", id);
        await().atMost(Duration.ofSeconds(5)).until(() -> b.count("commit", id) >= before + 10);
        server.close();
        server.close(); // a shutdown hook after an explicit close: a no-op
        server = null;
        Thread.sleep(50); // a timer still armed would have fired by now
      }
    } finally {
      root.detachAppender(capture);
    }
    assertThat(List.copyOf(capture.list)).filteredOn(e -> e.getLevel().isGreaterOrEqual(Level.ERROR))
        .extracting(ILoggingEvent::getFormattedMessage).isEmpty();
  }

  @Test
  void enlistingIsIdempotentAndRefusedOncePhaseOneBegan() {
    String id = begin();
    enlist(id, a);
    Http.Response again = http.post("/v1/transactions/" + id + "/participants",
        "{\"name\":\"bank-a\",\"url\":\"" + a.url() + "\"}");
    assertThat(again.status()).isEqualTo(200);
    Http.Response conflict = http.post("/v1/transactions/" + id + "/participants",
        "{\"name\":\"bank-a\",\"url\":\"http://127.0.0.1:1/other\"}");
    assertThat(conflict.status()).isEqualTo(409);
    assertThat(conflict.str("error")).isEqualTo("PARTICIPANT_CONFLICT");
    assertThat(http.get("/v1/transactions/" + id).json().get("participants")).hasSize(1);
  }

  @Test
  void rollbackAbortsAndIsIdempotent() {
    String id = begin();
    enlist(id, a);
    Http.Response r = http.post("/v1/transactions/" + id + "/rollback", null);
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.str("outcome")).isEqualTo("ABORTED");
    assertThat(http.post("/v1/transactions/" + id + "/rollback", null).status()).isEqualTo(200);
    assertThat(http.post("/v1/transactions/" + id + "/commit", null).status()).isEqualTo(409);
    await().atMost(Duration.ofSeconds(5)).until(() -> a.count("rollback", id) == 1);
  }

  @Test
  void unknownIdsArePresumedAbortedAndMalformedOnesRefused() {
    Http.Response r = http.get("/v1/transactions/01ARZ3NDEKTSV4RRFFQ69G5FAV");
    assertThat(r.status()).isEqualTo(404);
    assertThat(r.str("error")).isEqualTo("TRANSACTION_UNKNOWN");
    assertThat(r.str("outcome")).as("no record is no proof of an abort to a client").isNull();
    Http.Response bad = http.get("/v1/transactions/not-an-id");
    assertThat(bad.status()).isEqualTo(400);
    assertThat(bad.str("error")).isEqualTo("BAD_REQUEST");
    assertThat(http.post("/v1/transactions/01ARZ3NDEKTSV4RRFFQ69G5FAV/commit", null).status()).isEqualTo(404);
  }

  @Test
  void badInputGetsAJsonErrorAndChangesNothing() {
    String id = begin();
    String enlistPath = "/v1/transactions/" + id + "/participants";
    record Case(String path, String body, int status, String code) {}
    List<Case> cases = List.of(
        new Case("/v1/transactions", "{", 400, "BAD_JSON"),
        new Case("/v1/transactions", "{\"timeoutMs\":\"soon\"}", 400, "BAD_JSON"),
        new Case("/v1/transactions", "{\"timeoutMs\":-5}", 400, "BAD_REQUEST"),
        new Case("/v1/transactions", "{\"timeoutMs\":99999999999}", 400, "BAD_REQUEST"),
        new Case("/v1/transactions", "{\"timeoutMs\":1000,\"extra\":1}", 400, "BAD_JSON"),
        new Case("/v1/transactions", "[1,2]", 400, "BAD_JSON"),
        new Case("/v1/transactions", "{\"participants\":\"a\"}", 400, "BAD_JSON"),
        new Case("/v1/transactions", "{\"participants\":[null]}", 400, "BAD_REQUEST"),
        new Case("/v1/transactions", "{\"participants\":[{\"name\":\"a\"}]}", 400, "BAD_REQUEST"),
        new Case("/v1/transactions", "{\"participants\":[{\"name\":\"a\",\"url\":\"http://x/tx\"},"
            + "{\"name\":\"a\",\"url\":\"http://y/tx\"}]}", 400, "BAD_REQUEST"),
        new Case("/v1/transactions", "{\"participants\":[" + String.join(",", java.util.Collections.nCopies(
            Limits.PARTICIPANTS_PER_TX_MAX + 1, "{\"name\":\"a\",\"url\":\"http://x/tx\"}")) + "]}", 400, "BAD_REQUEST"),
        new Case(enlistPath, "", 400, "BAD_JSON"),
        new Case(enlistPath, "{\"name\":\"a\"}", 400, "BAD_REQUEST"),
        new Case(enlistPath, "{\"name\":\"a b\",\"url\":\"http://x/tx\"}", 400, "BAD_REQUEST"),
        new Case(enlistPath, "{\"name\":\"a\",\"url\":\"ftp://x/tx\"}", 400, "BAD_REQUEST"),
        new Case(enlistPath, "{\"name\":\"a\",\"url\":\"not a url\"}", 400, "BAD_REQUEST"),
        new Case(enlistPath, "{\"name\":\"a\",\"url\":\"http://x/tx?q=1\"}", 400, "BAD_REQUEST"),
        new Case(enlistPath, "{\"name\":" + "\"" + "n".repeat(65) + "\",\"url\":\"http://x/tx\"}", 400, "BAD_REQUEST"),
        new Case(enlistPath, "{\"name\":5,\"url\":\"http://x/tx\"}", 400, "BAD_JSON"),
        new Case("/v1/transactions/" + id + "/commit?wait=maybe", null, 400, "BAD_REQUEST"),
        new Case("/v1/transactions", "{\"timeoutMs\":" + "1".repeat(70_000) + "}", 413, "BODY_TOO_LARGE"),
        new Case("/v1/nothing-here", null, 404, "NOT_FOUND"));
    for (Case c : cases) {
      Http.Response r = http.post(c.path(), c.body());
      assertThat(r.status()).as(c.toString() + " -> " + r.text()).isEqualTo(c.status());
      assertThat(r.str("error")).as(c.toString()).isEqualTo(c.code());
      assertThat(r.str("message")).as(c.toString()).isNotBlank();
    }
    Http.Response wrongMethod = http.method("DELETE", "/v1/transactions/" + id);
    assertThat(wrongMethod.status()).isEqualTo(405);
    assertThat(wrongMethod.str("error")).isEqualTo("METHOD_NOT_ALLOWED");
    Http.Response list = http.get("/v1/transactions?limit=0");
    assertThat(list.status()).isEqualTo(400);
    assertThat(http.get("/v1/transactions?state=SLEEPING").status()).isEqualTo(400);
    // Nothing changed: still ACTIVE, no participants, and no refused begin began anything.
    Http.Response s = http.get("/v1/transactions/" + id);
    assertThat(s.str("state")).isEqualTo("ACTIVE");
    assertThat(s.json().get("participants")).isEmpty();
    assertThat(http.get("/v1/transactions").json().get("transactions")).hasSize(1);
  }

  @Test
  void participantsNamedAtBeginAreEnlistedAndCommitted() {
    Http.Response r = http.post("/v1/transactions", "{\"timeoutMs\":30000,\"participants\":["
        + "{\"name\":\"" + a.name + "\",\"url\":\"" + a.url() + "\"},"
        + "{\"name\":\"" + b.name + "\",\"url\":\"" + b.url() + "\"},"
        + "{\"name\":\"" + a.name + "\",\"url\":\"" + a.url() + "\"}]}");
    assertThat(r.status()).as(r.text()).isEqualTo(201);
    String id = r.str("id");
    assertThat(r.json().get("participants")).as("listed twice with one url: once").hasSize(2);
    // A participant that enlists itself anyway (the SDK's join does) is welcome: same name, same url.
    Http.Response again = http.post("/v1/transactions/" + id + "/participants",
        "{\"name\":\"" + a.name + "\",\"url\":\"" + a.url() + "\"}");
    assertThat(again.status()).as(again.text()).isEqualTo(200);
    Http.Response c = http.post("/v1/transactions/" + id + "/commit?wait=true", null);
    assertThat(c.status()).as(c.text()).isEqualTo(200);
    assertThat(c.str("outcome")).isEqualTo("COMMITTED");
    assertThat(a.branches.get(id)).isEqualTo(TestParticipant.BranchState.COMMITTED);
    assertThat(b.branches.get(id)).isEqualTo(TestParticipant.BranchState.COMMITTED);
  }

  @Test
  void concurrentCommitsAllComplete() throws Exception {
    List<CompletableFuture<Integer>> results = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      results.add(CompletableFuture.supplyAsync(() -> {
        String id = begin();
        enlist(id, a);
        enlist(id, b);
        return http.post("/v1/transactions/" + id + "/commit", null).status();
      }));
    }
    for (CompletableFuture<Integer> f : results) assertThat(f.get()).isEqualTo(200);
    // Group commit: fewer fsyncs than decisions is possible but not guaranteed at this load;
    // every decision must have been made durable at least once though.
    assertThat(server.decisionLog().stats().fsyncs()).isGreaterThan(0);
  }

  @Test
  void listingHealthAndMetricsAnswer() {
    String id = begin();
    enlist(id, a);
    enlist(id, b);
    http.post("/v1/transactions/" + id + "/commit?wait=true", null);
    String id2 = begin();
    Http.Response list = http.get("/v1/transactions?state=ACTIVE");
    assertThat(list.status()).isEqualTo(200);
    assertThat(list.json().get("transactions").findValuesAsText("id")).containsExactly(id2);
    Http.Response page = http.get("/v1/transactions?limit=1");
    assertThat(page.json().get("transactions")).hasSize(1);
    assertThat(page.str("next")).isEqualTo(id);
    assertThat(http.get("/v1/transactions?after=" + id).json().get("transactions").findValuesAsText("id")).containsExactly(id2);
    Http.Response health = http.get("/health");
    assertThat(health.status()).isEqualTo(200);
    assertThat(health.str("status")).isEqualTo("UP");
    Http.Response metrics = http.get("/metrics");
    assertThat(metrics.status()).isEqualTo(200);
    assertThat(metrics.text()).contains("duet_transactions_committed_total 1.0")
        .contains("duet_transactions_begun_total 2.0").contains("duet_log_fsyncs");
  }
}

package dev.duet.participant.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.duet.participant.BranchConflictException;
import dev.duet.participant.Participant;
import dev.duet.wire.AckStatus;
import dev.duet.wire.Json;
import dev.duet.wire.TxIds;
import dev.duet.wire.Vote;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** How the endpoints map a participant's behaviour to HTTP: back-pressure, failures, conflicts. */
class ParticipantEndpointsTest {
  private Vertx vertx;
  private String url;
  private final CountDownLatch release = new CountDownLatch(1);
  private final HttpClient http = HttpClient.newHttpClient();

  /** Prepare blocks until released; commit fails; rollback conflicts. */
  private final Participant scripted = new Participant() {
    @Override
    public String name() {
      return "scripted";
    }

    @Override
    public Vote prepare(String txId) throws Exception {
      release.await(30, TimeUnit.SECONDS);
      return Vote.READ_ONLY;
    }

    @Override
    public AckStatus commit(String txId, boolean onePhase) {
      throw new IllegalStateException("database is down");
    }

    @Override
    public AckStatus rollback(String txId) {
      throw new BranchConflictException("branch is committed");
    }

    @Override
    public List<String> inDoubt() {
      return List.of();
    }
  };

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    HttpServer s = ParticipantEndpoints.serve(vertx, "127.0.0.1", 0, "/p", scripted,
        ParticipantOptions.defaults().withPendingCallsMax(1)).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    url = "http://127.0.0.1:" + s.actualPort() + "/p";
  }

  @AfterEach
  void stop() throws Exception {
    release.countDown();
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private CompletableFuture<HttpResponse<String>> post(String verb) {
    String body = "{\"txId\":\"" + TxIds.next(System.currentTimeMillis()) + "\",\"participant\":\"scripted\"}";
    return http.sendAsync(HttpRequest.newBuilder(URI.create(url + "/" + verb))
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private static String code(HttpResponse<String> r) throws Exception {
    return Json.LENIENT.readTree(r.body()).get("error").asText();
  }

  @Test
  void pastPendingCallsMaxAnswers503Overloaded() throws Exception {
    CompletableFuture<HttpResponse<String>> first = post("prepare");
    Thread.sleep(300); // the first call is now parked in the participant
    HttpResponse<String> second = post("prepare").get(10, TimeUnit.SECONDS);
    assertThat(second.statusCode()).isEqualTo(503);
    assertThat(code(second)).isEqualTo("OVERLOADED");
    release.countDown();
    HttpResponse<String> done = first.get(10, TimeUnit.SECONDS);
    assertThat(done.statusCode()).isEqualTo(200);
    assertThat(done.body()).contains("READ_ONLY");
  }

  @Test
  void failuresAre503AndConflictsAre409WithoutStackTraces() throws Exception {
    HttpResponse<String> failed = post("commit").get(10, TimeUnit.SECONDS);
    assertThat(failed.statusCode()).isEqualTo(503);
    assertThat(code(failed)).isEqualTo("UNAVAILABLE");
    assertThat(failed.body()).contains("database is down").doesNotContain("\tat ").doesNotContain("Exception");
    HttpResponse<String> conflict = post("rollback").get(10, TimeUnit.SECONDS);
    assertThat(conflict.statusCode()).isEqualTo(409);
    assertThat(code(conflict)).isEqualTo("BRANCH_CONFLICT");
  }
}

package dev.duet.coordinator.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.duet.coordinator.shell.CoordinatorServer;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Signed calls to participants and bearer tokens for clients. */
class SecurityTest {
  static final String SECRET = "a-shared-secret-of-some-length";

  @TempDir Path dataDir;
  Vertx vertx = Vertx.vertx();
  CoordinatorServer server;

  @AfterEach
  void stop() throws Exception {
    if (server != null) server.close();
    vertx.close().toCompletionStage().toCompletableFuture().get();
  }

  @Test
  void participantsVerifyTheCoordinatorsSignature() throws Exception {
    server = CoordinatorServer.start(CoordinatorApiTest.config(dataDir).withSecurity(SECRET, null));
    Http http = new Http("http://127.0.0.1:" + server.port());
    try (TestParticipant a = new TestParticipant(vertx, "bank-a").verifySignaturesWith(SECRET);
        TestParticipant b = new TestParticipant(vertx, "bank-b").verifySignaturesWith(SECRET)) {
      String id = begin(http, a, b);
      assertThat(http.post("/v1/transactions/" + id + "/commit?wait=true", null).status()).isEqualTo(200);
      assertThat(a.branches.get(id)).isEqualTo(TestParticipant.BranchState.COMMITTED);
    }
    // A participant holding another secret refuses every call: the prepare fails, so the
    // transaction aborts rather than commit anywhere.
    try (TestParticipant a = new TestParticipant(vertx, "bank-a").verifySignaturesWith("some-other-secret-entirely");
        TestParticipant b = new TestParticipant(vertx, "bank-b").verifySignaturesWith(SECRET)) {
      String id = begin(http, a, b);
      Http.Response r = http.post("/v1/transactions/" + id + "/commit", null);
      assertThat(r.status()).isEqualTo(409);
      assertThat(r.str("reason")).contains("bank-a").contains("401");
      assertThat(a.branches).isEmpty();
      await().atMost(Duration.ofSeconds(5)).until(() -> b.branches.get(id) == TestParticipant.BranchState.ROLLED_BACK);
    }
  }

  @Test
  void clientsWithoutTheBearerTokenAreRefused() throws Exception {
    server = CoordinatorServer.start(CoordinatorApiTest.config(dataDir).withSecurity(null, "client-token-123"));
    Http anonymous = new Http("http://127.0.0.1:" + server.port());
    Http.Response r = anonymous.post("/v1/transactions", null);
    assertThat(r.status()).isEqualTo(401);
    assertThat(r.str("error")).isEqualTo("UNAUTHORIZED");
    assertThat(new Http("http://127.0.0.1:" + server.port()).withToken("wrong").post("/v1/transactions", null).status())
        .isEqualTo(401);
    assertThat(new Http("http://127.0.0.1:" + server.port()).withToken("client-token-123").post("/v1/transactions", null).status())
        .isEqualTo(201);
    assertThat(anonymous.get("/health").status()).isEqualTo(200);
  }

  private static String begin(Http http, TestParticipant... ps) {
    String id = http.post("/v1/transactions", null).str("id");
    for (TestParticipant p : ps) {
      assertThat(http.post("/v1/transactions/" + id + "/participants",
          "{\"name\":\"" + p.name + "\",\"url\":\"" + p.url() + "\"}").status()).isEqualTo(201);
    }
    return id;
  }
}

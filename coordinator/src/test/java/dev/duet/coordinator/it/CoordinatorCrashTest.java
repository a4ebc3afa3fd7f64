package dev.duet.coordinator.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.duet.coordinator.http.Http;
import dev.duet.coordinator.http.TestParticipant;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The coordinator as a real process, killed with SIGKILL mid-protocol and restarted on the same
 * data directory: every transaction it had decided to commit is carried to the end, and nothing
 * it had not decided ever commits.
 */
class CoordinatorCrashTest {
  @TempDir Path dataDir;
  Vertx vertx;
  TestParticipant a;
  TestParticipant b;

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    a = new TestParticipant(vertx, "bank-a");
    b = new TestParticipant(vertx, "bank-b");
  }

  @AfterEach
  void stop() throws Exception {
    a.close();
    b.close();
    vertx.close().toCompletionStage().toCompletableFuture().get();
  }

  @Test
  void aCommitDecidedBeforeTheCrashReachesEveryParticipantAfterRestart() throws Exception {
    b.phase2FailuresLeft.set(Integer.MAX_VALUE); // bank-b cannot take the commit yet
    String id;
    try (CoordinatorProcess first = CoordinatorProcess.start(dataDir)) {
      Http http = new Http(first.baseUrl());
      id = http.post("/v1/transactions", null).str("id");
      enlist(http, id, a);
      enlist(http, id, b);
      Http.Response r = http.post("/v1/transactions/" + id + "/commit", null);
      assertThat(r.status()).isEqualTo(200);
      await().atMost(Duration.ofSeconds(5)).until(() -> b.count("commit", id) >= 1);
      first.kill();
    }
    assertThat(b.branches.get(id)).isEqualTo(TestParticipant.BranchState.PREPARED);
    b.phase2FailuresLeft.set(0);
    try (CoordinatorProcess second = CoordinatorProcess.start(dataDir)) {
      await().atMost(Duration.ofSeconds(15)).until(() -> b.branches.get(id) == TestParticipant.BranchState.COMMITTED);
      assertThat(a.branches.get(id)).isEqualTo(TestParticipant.BranchState.COMMITTED);
      Http http = new Http(second.baseUrl());
      await().atMost(Duration.ofSeconds(5)).until(() -> "COMMITTED".equals(http.get("/v1/transactions/" + id).str("state")));
      // A restart that finds the END record has nothing left to do.
    }
    try (CoordinatorProcess third = CoordinatorProcess.start(dataDir)) {
      Http http = new Http(third.baseUrl());
      assertThat(http.get("/health").json().get("recovered").asInt()).isZero();
      // Ended, yet still known as committed: a client asking after the restart hears the truth.
      Http.Response r = http.get("/v1/transactions/" + id);
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.str("state")).isEqualTo("COMMITTED");
    }
  }

  @Test
  void aCrashRightAfterTheDecisionIsDurableStillCommitsEverywhere() throws Exception {
    String id;
    try (CoordinatorProcess first = CoordinatorProcess.start(dataDir, "--failpoints", "coordinator.after-decision=crash*1")) {
      Http http = new Http(first.baseUrl());
      id = http.post("/v1/transactions", null).str("id");
      enlist(http, id, a);
      enlist(http, id, b);
      // The process dies between the fsync and the first commit message: the client gets no answer.
      assertThatThrownBy(() -> http.post("/v1/transactions/" + id + "/commit", null)).isInstanceOf(RuntimeException.class);
      assertThat(first.waitForExit()).isEqualTo(137);
    }
    assertThat(a.count("commit", id) + b.count("commit", id)).isZero();
    assertThat(a.branches.get(id)).isEqualTo(TestParticipant.BranchState.PREPARED);
    try (CoordinatorProcess second = CoordinatorProcess.start(dataDir)) {
      await().atMost(Duration.ofSeconds(15)).until(() -> a.branches.get(id) == TestParticipant.BranchState.COMMITTED
          && b.branches.get(id) == TestParticipant.BranchState.COMMITTED);
      Http http = new Http(second.baseUrl());
      assertThat(http.post("/v1/transactions/" + id + "/commit", null).str("outcome")).isEqualTo("COMMITTED");
    }
  }

  @Test
  void aCrashBeforeTheDecisionIsDurableAbortsForGood() throws Exception {
    String id;
    try (CoordinatorProcess first = CoordinatorProcess.start(dataDir, "--failpoints", "coordinator.before-decision=crash*1")) {
      Http http = new Http(first.baseUrl());
      id = http.post("/v1/transactions", null).str("id");
      enlist(http, id, a);
      enlist(http, id, b);
      assertThatThrownBy(() -> http.post("/v1/transactions/" + id + "/commit", null)).isInstanceOf(RuntimeException.class);
      assertThat(first.waitForExit()).isEqualTo(137);
    }
    try (CoordinatorProcess second = CoordinatorProcess.start(dataDir)) {
      Http http = new Http(second.baseUrl());
      // Both branches are prepared and ask: presumed abort, and their own recovery rolls back.
      Http.Response r = http.get("/v1/transactions/" + id);
      assertThat(r.status()).isEqualTo(404);
      assertThat(r.str("outcome")).as("no record claims no outcome").isNull();
      assertThat(a.count("commit", id) + b.count("commit", id)).isZero();
    }
  }

  @Test
  void aLogCorruptInTheMiddleStopsStartUpWithOneLine() throws Exception {
    String id;
    try (CoordinatorProcess first = CoordinatorProcess.start(dataDir)) {
      Http http = new Http(first.baseUrl());
      for (int i = 0; i < 2; i++) {
        id = http.post("/v1/transactions", null).str("id");
        enlist(http, id, a);
        enlist(http, id, b);
        assertThat(http.post("/v1/transactions/" + id + "/commit?wait=true", null).status()).isEqualTo(200);
      }
    }
    Path segment;
    try (var files = java.nio.file.Files.list(dataDir)) {
      segment = files.filter(p -> p.getFileName().toString().startsWith("segment-")).findFirst().orElseThrow();
    }
    try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(segment.toFile(), "rw")) {
      f.seek(16 + 12);
      f.write(f.readByte() ^ 0x40);
    }
    CoordinatorProcess.Exit exit = CoordinatorProcess.run(dataDir);
    assertThat(exit.status()).isEqualTo(1);
    assertThat(exit.output()).contains("refusing to start").contains(segment.toString()).contains("offset 16");
    assertThat(exit.output()).doesNotContain("\tat ");
  }

  @Test
  void aTransactionUndecidedAtTheCrashIsAbortedForGood() throws Exception {
    b.prepareDelayMs = 60_000; // phase 1 is stuck waiting for bank-b when the coordinator dies
    String id;
    try (CoordinatorProcess first = CoordinatorProcess.start(dataDir)) {
      Http http = new Http(first.baseUrl());
      id = http.post("/v1/transactions", null).str("id");
      enlist(http, id, a);
      enlist(http, id, b);
      new Thread(() -> http.post("/v1/transactions/" + id + "/commit", null)).start();
      await().atMost(Duration.ofSeconds(5)).until(() -> b.count("prepare", id) == 1 && a.branches.containsKey(id));
      // While undecided the coordinator says so; it never presumes abort for a live transaction.
      assertThat(http.get("/v1/transactions/" + id).str("state")).isEqualTo("PREPARING");
      first.kill();
    }
    try (CoordinatorProcess second = CoordinatorProcess.start(dataDir)) {
      Http http = new Http(second.baseUrl());
      Http.Response r = http.get("/v1/transactions/" + id);
      assertThat(r.status()).isEqualTo(404);
      assertThat(r.str("error")).isEqualTo("TRANSACTION_UNKNOWN");
      assertThat(r.str("outcome")).as("no record claims no outcome").isNull();
      assertThat(a.count("commit", id) + b.count("commit", id)).isZero();
    }
  }

  @Test
  void badFlagsAreRefusedWithOneClearLine() throws Exception {
    CoordinatorProcess.Exit unknownFailpoint = CoordinatorProcess.run(dataDir, "--failpoints", "coordinator.nowhere=crash");
    assertThat(unknownFailpoint.status()).isEqualTo(2);
    assertThat(unknownFailpoint.output()).contains("unknown failpoint 'coordinator.nowhere'");
    CoordinatorProcess.Exit badTimeout = CoordinatorProcess.run(dataDir, "--prepare-timeout-ms", "0");
    assertThat(badTimeout.status()).isEqualTo(2);
    assertThat(badTimeout.output()).contains("--prepare-timeout-ms must be 1-600000");
    CoordinatorProcess.Exit shortSecret = CoordinatorProcess.run(dataDir, "--signing-secret", "short");
    assertThat(shortSecret.status()).isEqualTo(2);
    assertThat(shortSecret.output()).contains("at least 16 characters").doesNotContain("\tat ");
  }

  private static void enlist(Http http, String id, TestParticipant p) {
    assertThat(http.post("/v1/transactions/" + id + "/participants",
        "{\"name\":\"" + p.name + "\",\"url\":\"" + p.url() + "\"}").status()).isEqualTo(201);
  }
}

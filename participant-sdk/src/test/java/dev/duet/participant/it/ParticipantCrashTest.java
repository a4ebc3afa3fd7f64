package dev.duet.participant.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.duet.coordinator.config.CoordinatorConfig;
import dev.duet.coordinator.shell.CoordinatorServer;
import dev.duet.failpoints.Failpoints;
import dev.duet.participant.context.CommitResult;
import dev.duet.participant.context.CoordinatorClient;
import dev.duet.participant.context.TxContext;
import dev.duet.participant.http.ParticipantEndpoints;
import dev.duet.participant.http.ParticipantOptions;
import dev.duet.participant.support.TestDb;
import dev.duet.wire.Json;
import dev.duet.wire.Messages.ParticipantView;
import dev.duet.wire.Outcome;
import dev.duet.wire.Vote;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.XAConnection;
import javax.transaction.xa.XAResource;
import javax.transaction.xa.Xid;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Crash tests with real processes: a participant service (the JDBC adapter in a child JVM) prepares,
 * is killed with SIGKILL, restarts on the same database, and its recovery resolves the branch as
 * the real coordinator decided — COMMIT, and ABORT by presumed abort (404 TRANSACTION_UNKNOWN after
 * a coordinator restart). While the coordinator is unreachable the branch stays in doubt
 * (PROTOCOL-TRAPS 13). Afterwards nothing is left prepared in the database.
 */
class ParticipantCrashTest {
  private static final String SECRET = "crash-test-signing-secret-0123456789";
  private static final AtomicInteger SEQ = new AtomicInteger();

  @TempDir Path dir;
  private final List<Process> children = new ArrayList<>();
  private final List<AutoCloseable> open = new ArrayList<>();
  private Vertx vertx;
  private GateParticipant gate;
  private String gateUrl;
  private final HttpClient http = HttpClient.newHttpClient();

  @BeforeEach
  void startGate() throws Exception {
    vertx = Vertx.vertx();
    gate = new GateParticipant();
    HttpServer s = await(ParticipantEndpoints.serve(vertx, "127.0.0.1", 0, "/gate", gate,
        ParticipantOptions.defaults().withSigningSecret(SECRET)));
    gateUrl = "http://127.0.0.1:" + s.actualPort() + "/gate";
  }

  @AfterEach
  void stopAll() throws Exception {
    for (Process p : children) p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    gate.gate.countDown();
    for (AutoCloseable c : open) c.close();
    await(vertx.close());
  }

  /** One database the child processes share: H2 in a file, or a database of the embedded PostgreSQL. */
  private record Db(String kind, String childUrl, String name) {}

  private Db database(String kind) throws Exception {
    String name = "crash-" + kind.toLowerCase() + "-" + SEQ.incrementAndGet();
    String url;
    if (kind.equals("H2")) {
      url = "jdbc:h2:file:" + dir.resolve("bank").toAbsolutePath() + ";WRITE_DELAY=0";
    } else {
      String db = "crash" + ProcessHandle.current().pid() + "_" + SEQ.incrementAndGet();
      try (Connection c = DriverManager.getConnection(TestDb.pg().jdbcUrl()); Statement st = c.createStatement()) {
        st.execute("CREATE DATABASE " + db);
      }
      url = "jdbc:postgresql://localhost:" + TestDb.postgres().getPort() + "/" + db + "?user=postgres";
    }
    try (Connection c = plain(url); Statement st = c.createStatement()) {
      st.execute("CREATE TABLE crash_rows (id INT PRIMARY KEY)");
    }
    return new Db(kind, url, name);
  }

  private static Connection plain(String url) throws Exception {
    return url.startsWith("jdbc:h2:") ? DriverManager.getConnection(url, "sa", "") : DriverManager.getConnection(url);
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"H2", "PostgreSQL"})
  void preparedBranchCommitsAfterSigkillAsTheCoordinatorDecided(String kind) throws Exception {
    Db db = database(kind);
    CoordinatorServer coordinator = coordinator(dir.resolve("coord"), 0);
    String coordinatorUrl = "http://127.0.0.1:" + coordinator.port();
    CoordinatorClient client = client(coordinatorUrl);

    Child first = startChild(db, coordinatorUrl, null);
    TxContext tx = await(client.begin(30_000));
    assertThat(work(first, tx, 1)).isEqualTo(200);
    await(client.enlist(tx, "gate", gateUrl));

    // Commit: the coordinator prepares both; the gate holds its vote until the child has prepared.
    Future<CommitResult> outcome = client.commit(tx);
    // Kill it once the coordinator holds its PREPARED vote, before the decision reaches it.
    Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> voteOf(client, tx, db.name()) == Vote.PREPARED);
    assertThat(inDoubt(first)).containsExactly(tx.txId());
    first.process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    gate.gate.countDown();
    assertThat(await(outcome).outcome()).isEqualTo(Outcome.COMMITTED);

    // Restarted (on a new port the coordinator does not know): its recovery asks and commits.
    Child second = startChild(db, coordinatorUrl, null);
    Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> inDoubt(second).isEmpty());
    second.process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);

    assertThat(rows(db)).containsExactly(1);
    assertThat(prepared(db)).as("nothing left prepared").isEmpty();
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"H2", "PostgreSQL"})
  void preparedBranchRollsBackOnPresumedAbortAndWaitsWhileTheCoordinatorIsDown(String kind) throws Exception {
    Db db = database(kind);
    Path coordDir = dir.resolve("coord");
    CoordinatorServer coordinator = coordinator(coordDir, 0);
    int port = coordinator.port();
    String coordinatorUrl = "http://127.0.0.1:" + port;
    CoordinatorClient client = client(coordinatorUrl);
    gate.gate.countDown();

    // The child prepares in its database, then dies before answering: the vote never arrives.
    Child first = startChild(db, coordinatorUrl, Failpoints.PARTICIPANT_AFTER_PREPARE + "=crash");
    TxContext tx = await(client.begin(30_000));
    assertThat(work(first, tx, 1)).isEqualTo(200);
    await(client.enlist(tx, "gate", gateUrl));
    assertThat(await(client.commit(tx)).outcome()).isEqualTo(Outcome.ABORTED);
    assertThat(first.process.waitFor(20, TimeUnit.SECONDS)).isTrue();
    assertThat(first.process.exitValue()).isEqualTo(Failpoints.CRASH_EXIT_STATUS);

    // The coordinator goes down too. The restarted child cannot ask: the branch stays in doubt.
    coordinator.close();
    Child second = startChild(db, coordinatorUrl, null);
    Thread.sleep(ParticipantMain.RECOVERY_PERIOD_MS * 4);
    assertThat(inDoubt(second)).as("never guessed while the coordinator is unreachable").containsExactly(tx.txId());

    // The coordinator restarts on its log: an aborted transaction is not in it (presumed abort).
    coordinator(coordDir, port);
    HttpResponse<String> status = http.send(HttpRequest.newBuilder(URI.create(tx.headerValue())).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(status.statusCode()).isEqualTo(404);
    assertThat(status.body()).contains("TRANSACTION_UNKNOWN");
    Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> inDoubt(second).isEmpty());
    second.process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);

    assertThat(rows(db)).isEmpty();
    assertThat(prepared(db)).as("nothing left prepared").isEmpty();
  }

  // ---------------------------------------------------------------- helpers

  private record Child(Process process, String url, int port) {}

  private Child startChild(Db db, String coordinatorUrl, String failpoints) throws Exception {
    Path portFile = dir.resolve("port-" + SEQ.incrementAndGet());
    Path log = dir.resolve(portFile.getFileName() + ".log");
    ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx256m", "-cp", System.getProperty("java.class.path"), ParticipantMain.class.getName(),
        db.name(), db.childUrl(), coordinatorUrl, SECRET, portFile.toString())
        .redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().remove("DUET_FAILPOINTS");
    if (failpoints != null) pb.environment().put("DUET_FAILPOINTS", failpoints);
    Process p = pb.start();
    children.add(p);
    Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(portFile) || !p.isAlive());
    if (!p.isAlive()) throw new AssertionError("participant process exited: " + Files.readString(log));
    int port = Integer.parseInt(Files.readString(portFile).trim());
    return new Child(p, "http://127.0.0.1:" + port, port);
  }

  private CoordinatorServer coordinator(Path dataDir, int port) throws Exception {
    CoordinatorServer s = CoordinatorServer.start(CoordinatorConfig.defaults(dataDir, port).withShards(1)
        .withSecurity(SECRET, null));
    open.add(0, s);
    return s;
  }

  private CoordinatorClient client(String url) {
    CoordinatorClient c = new CoordinatorClient(vertx, url, null);
    open.add(c);
    return c;
  }

  private static Vote voteOf(CoordinatorClient client, TxContext tx, String participant) throws Exception {
    for (ParticipantView v : await(client.view(tx.txId())).participants()) {
      if (v.name().equals(participant)) return v.vote();
    }
    return null;
  }

  private int work(Child child, TxContext tx, int id) throws Exception {
    HttpRequest req = HttpRequest.newBuilder(URI.create(child.url() + "/work?id=" + id))
        .header(TxContext.HEADER, tx.headerValue()).POST(HttpRequest.BodyPublishers.noBody()).build();
    return http.send(req, HttpResponse.BodyHandlers.ofString()).statusCode();
  }

  private List<String> inDoubt(Child child) throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(child.url() + "/duet/in-doubt")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    JsonNode ids = Json.LENIENT.readTree(r.body()).get("inDoubt");
    List<String> out = new ArrayList<>();
    ids.forEach(n -> out.add(n.asText()));
    return out;
  }

  private static List<Integer> rows(Db db) throws Exception {
    List<Integer> out = new ArrayList<>();
    try (Connection c = plain(db.childUrl()); Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT id FROM crash_rows ORDER BY id")) {
      while (rs.next()) out.add(rs.getInt(1));
    }
    return out;
  }

  /** What the database itself lists as prepared: H2's XAResource.recover(), PostgreSQL's pg_prepared_xacts. */
  private static List<String> prepared(Db db) throws Exception {
    List<String> out = new ArrayList<>();
    if (db.kind().equals("H2")) {
      XAConnection xc = ParticipantMain.dataSource(db.childUrl()).getXAConnection();
      try {
        for (Xid x : xc.getXAResource().recover(XAResource.TMSTARTRSCAN | XAResource.TMENDRSCAN)) out.add(x.toString());
      } finally {
        xc.close();
      }
    } else {
      try (Connection c = plain(db.childUrl()); Statement st = c.createStatement();
          ResultSet rs = st.executeQuery("SELECT gid FROM pg_prepared_xacts WHERE database = current_database()")) {
        while (rs.next()) out.add(rs.getString(1));
      }
    }
    return out;
  }

  private static <T> T await(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }
}

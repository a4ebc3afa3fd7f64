package dev.duet.participant.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.duet.coordinator.config.CoordinatorConfig;
import dev.duet.coordinator.shell.CoordinatorServer;
import dev.duet.participant.context.CoordinatorClient;
import dev.duet.participant.context.JoinHandler;
import dev.duet.participant.context.TxContext;
import dev.duet.participant.context.TxStatus;
import dev.duet.participant.http.ParticipantEndpoints;
import dev.duet.participant.http.ParticipantOptions;
import dev.duet.participant.jdbc.XaOptions;
import dev.duet.participant.jdbc.XaParticipant;
import dev.duet.participant.recovery.RecoveryReport;
import dev.duet.participant.recovery.RecoveryWorker;
import dev.duet.participant.support.TestDb;
import dev.duet.wire.Json;
import dev.duet.wire.Outcome;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.ext.web.Router;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.sql.Statement;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two services (JDBC adapter on H2 and on PostgreSQL) join transactions of a real coordinator that
 * signs its calls: context propagation by header, enlistment once per transaction, commit and abort
 * across both databases, and the header's bad values.
 */
class EndToEndTest {
  private static final String SECRET = "end-to-end-signing-secret-0123456789";

  @TempDir static Path dir;
  static Vertx vertx;
  static CoordinatorServer coordinator;
  static CoordinatorClient client;
  static Service h2;
  static Service pg;
  static final HttpClient http = HttpClient.newHttpClient();

  /** A service: its database, its participant, and {@code POST /add?amount=N} joining the caller's transaction. */
  record Service(TestDb db, XaParticipant participant, String url) {}

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    coordinator = CoordinatorServer.start(CoordinatorConfig.defaults(dir.resolve("coord"), 0).withShards(1)
        .withSecurity(SECRET, null));
    client = new CoordinatorClient(vertx, "http://127.0.0.1:" + coordinator.port(), null);
    h2 = service("bank-h2", TestDb.h2(dir));
    pg = service("bank-pg", TestDb.pg());
  }

  @AfterAll
  static void stop() throws Exception {
    await(vertx.close());
    h2.participant.close();
    pg.participant.close();
    h2.db.close();
    coordinator.close();
  }

  static Service service(String name, TestDb db) throws Exception {
    db.init();
    XaParticipant p = new XaParticipant(name, db.xaDataSource(), new XaOptions(16, 200));
    Router router = Router.router(vertx);
    HttpServer server = await(vertx.createHttpServer().requestHandler(router).listen(0, "127.0.0.1"));
    String base = "http://127.0.0.1:" + server.actualPort();
    ParticipantEndpoints.mount(vertx, router, "/duet", p, ParticipantOptions.defaults().withSigningSecret(SECRET));
    router.post("/add").handler(JoinHandler.create(client, name, base + "/duet")).handler(ctx -> {
      TxContext tx = JoinHandler.txContext(ctx);
      if (tx == null) {
        ctx.response().setStatusCode(400).end("{\"error\":\"BAD_REQUEST\",\"message\":\"needs a transaction\"}");
        return;
      }
      long amount = Long.parseLong(ctx.request().getParam("amount"));
      vertx.executeBlocking(() -> p.inBranch(tx.txId(), JoinHandler.deadlineMs(ctx), c -> {
        try (Statement st = c.createStatement()) {
          st.executeUpdate("UPDATE " + db.table + " SET balance = balance + " + amount + " WHERE id = 1");
          try (var rs = st.executeQuery("SELECT balance FROM " + db.table + " WHERE id = 1")) {
            rs.next();
            if (rs.getLong(1) < 0) throw new java.sql.SQLException("insufficient funds");
          }
          return 0;
        }
      }), false).onComplete(ar -> ctx.response().setStatusCode(ar.succeeded() ? 200 : 409).end());
    });
    return new Service(db, p, base);
  }

  static HttpResponse<String> add(Service s, String header, long amount) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(s.url + "/add?amount=" + amount))
        .POST(HttpRequest.BodyPublishers.noBody());
    if (header != null) b.header(TxContext.HEADER, header);
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void transferCommitsInBothDatabases() throws Exception {
    long a = h2.db.balance();
    long b = pg.db.balance();
    TxContext tx = await(client.begin(10_000));
    assertThat(add(h2, tx.headerValue(), -30).statusCode()).isEqualTo(200);
    assertThat(add(pg, tx.headerValue(), 30).statusCode()).isEqualTo(200);
    assertThat(add(pg, tx.headerValue(), 0).statusCode()).as("second call joins the same branch").isEqualTo(200);
    assertThat(await(client.view(tx.txId())).participants()).hasSize(2);

    assertThat(await(client.commit(tx)).outcome()).isEqualTo(Outcome.COMMITTED);
    assertThat(await(client.status(tx.txId()))).isEqualTo(TxStatus.COMMITTED);
    assertThat(h2.db.balance()).isEqualTo(a - 30);
    assertThat(pg.db.balance()).isEqualTo(b + 30);
    assertThat(h2.participant.inDoubt()).isEmpty();
    assertThat(pg.participant.inDoubt()).isEmpty();
  }

  @Test
  void participantsNamedAtBeginAreEnlistedBeforeTheyWork() throws Exception {
    long a = h2.db.balance();
    long b = pg.db.balance();
    java.util.Map<String, String> both = new java.util.LinkedHashMap<>();
    both.put("bank-h2", h2.url + "/duet");
    both.put("bank-pg", pg.url + "/duet");
    TxContext tx = await(client.begin(10_000, both));
    assertThat(await(client.view(tx.txId())).participants()).as("enlisted by the begin").hasSize(2);
    // Their own joins enlist again with the same url: welcome, still two.
    assertThat(add(h2, tx.headerValue(), -40).statusCode()).isEqualTo(200);
    assertThat(add(pg, tx.headerValue(), 40).statusCode()).isEqualTo(200);
    assertThat(await(client.view(tx.txId())).participants()).hasSize(2);
    assertThat(await(client.commit(tx)).outcome()).isEqualTo(Outcome.COMMITTED);
    assertThat(h2.db.balance()).isEqualTo(a - 40);
    assertThat(pg.db.balance()).isEqualTo(b + 40);

    // A participant named at begin that then does no work has nothing to prepare: it votes ABORT,
    // so the transaction aborts and the other's work is rolled back. Never a half commit.
    TxContext idle = await(client.begin(10_000, both));
    assertThat(add(h2, idle.headerValue(), -7).statusCode()).isEqualTo(200);
    assertThat(await(client.commit(idle)).outcome()).isEqualTo(Outcome.ABORTED);
    assertThat(h2.db.balance()).isEqualTo(a - 40);
    assertThat(pg.db.balance()).isEqualTo(b + 40);
    assertThat(h2.participant.inDoubt()).isEmpty();
  }

  @Test
  void failedWorkAbortsTheWholeTransaction() throws Exception {
    long a = h2.db.balance();
    long b = pg.db.balance();
    TxContext tx = await(client.begin(10_000));
    assertThat(add(pg, tx.headerValue(), 50).statusCode()).isEqualTo(200);
    assertThat(add(h2, tx.headerValue(), -1_000_000).statusCode()).as("insufficient funds").isEqualTo(409);
    var result = await(client.commit(tx));
    assertThat(result.outcome()).isEqualTo(Outcome.ABORTED);
    assertThat(h2.db.balance()).isEqualTo(a);
    assertThat(pg.db.balance()).isEqualTo(b);
    assertThat(pg.db.preparedXids()).isEmpty();
  }

  @Test
  void joiningAfterCommitOrWithABadHeaderIsRefused() throws Exception {
    TxContext tx = await(client.begin(10_000));
    assertThat(await(client.rollback(tx)).outcome()).isEqualTo(Outcome.ABORTED);
    HttpResponse<String> late = add(h2, tx.headerValue(), 1);
    assertThat(late.statusCode()).isEqualTo(409);
    assertThat(Json.LENIENT.readTree(late.body()).get("error").asText()).isEqualTo("TRANSACTION_NOT_ACTIVE");

    for (String bad : new String[] {"", "garbage", "http://127.0.0.1:1/v1/transactions/nope",
        "http://elsewhere.example:7070/v1/transactions/" + tx.txId()}) {
      HttpResponse<String> r = add(h2, bad, 1);
      assertThat(r.statusCode()).as("header '%s'", bad).isEqualTo(400);
      assertThat(Json.LENIENT.readTree(r.body()).get("error").asText()).isEqualTo("BAD_REQUEST");
    }
    assertThat(add(h2, null, 1).statusCode()).as("no header: no transaction").isEqualTo(400);
  }

  @Test
  void recoveryWaitsWhileUndecidedAndRollsBackOnceAborted() throws Exception {
    TxContext tx = await(client.begin(10_000));
    // Not enlisted, so the coordinator will not tell it the outcome: only recovery can.
    pg.participant.inBranch(tx.txId(), 0, c -> c.createStatement().executeUpdate(
        "UPDATE " + pg.db.table + " SET balance = balance + 5 WHERE id = 1"));
    // A branch prepared while its transaction is still ACTIVE at the coordinator (as after a
    // participant restart during phase 1): recovery must wait, never guess (PROTOCOL-TRAPS 13).
    assertThat(pg.participant.prepare(tx.txId())).isEqualTo(dev.duet.wire.Vote.PREPARED);
    RecoveryWorker recovery = new RecoveryWorker(vertx, pg.participant, client, 60_000);
    RecoveryReport waiting = await(recovery.runOnce());
    assertThat(waiting.undecided()).isEqualTo(1);
    assertThat(waiting.stillInDoubt()).containsExactly(tx.txId());
    assertThat(pg.participant.inDoubtCount()).isEqualTo(1);

    assertThat(await(client.rollback(tx)).outcome()).isEqualTo(Outcome.ABORTED);
    RecoveryReport done = await(recovery.runOnce());
    assertThat(done.rolledBack()).isEqualTo(1);
    assertThat(pg.participant.inDoubt()).isEmpty();
    assertThat(pg.db.preparedXids()).isEmpty();
  }

  @Test
  void txContextRoundTrips() {
    TxContext tx = new TxContext("http://127.0.0.1:7070", "01JD3ZK5X9M8Q7R6S5T4V3W2X1");
    assertThat(TxContext.parse(tx.headerValue())).isEqualTo(tx);
  }

  static <T> T await(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }
}

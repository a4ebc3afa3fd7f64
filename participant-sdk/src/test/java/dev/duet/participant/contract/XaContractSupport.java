package dev.duet.participant.contract;

import dev.duet.participant.http.ParticipantEndpoints;
import dev.duet.participant.http.ParticipantOptions;
import dev.duet.participant.jdbc.XaOptions;
import dev.duet.participant.jdbc.XaParticipant;
import dev.duet.participant.support.TestDb;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import java.sql.Statement;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** The SDK's own JDBC adapter behind its own endpoints, on a real database and real HTTP. */
final class XaContractSupport implements AutoCloseable {
  static final String SECRET = "contract-test-secret-0123456789";

  final TestDb db;
  final Vertx vertx = Vertx.vertx();
  final XaParticipant participant;
  final HttpServer server;
  private final AtomicInteger rows = new AtomicInteger(1);

  XaContractSupport(TestDb db) throws Exception {
    this.db = db.init();
    this.participant = new XaParticipant("contract-" + db.kind().toLowerCase(), db.xaDataSource(), new XaOptions(16, 1000));
    this.server = ParticipantEndpoints.serve(vertx, "127.0.0.1", 0, "/duet", participant,
        ParticipantOptions.defaults().withSigningSecret(SECRET)).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  String url() {
    return "http://127.0.0.1:" + server.actualPort() + "/duet";
  }

  /** Inserts a row of its own, so branches never wait on each other's locks. */
  void work(String txId) throws Exception {
    int id = rows.incrementAndGet();
    participant.inBranch(txId, System.currentTimeMillis() + 60_000, c -> {
      try (Statement st = c.createStatement()) {
        return st.executeUpdate("INSERT INTO " + db.table + " VALUES (" + id + ", 0)");
      }
    });
  }

  @Override
  public void close() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    participant.close();
    db.close();
  }
}

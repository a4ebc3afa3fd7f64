package dev.duet.participant.it;

import dev.duet.failpoints.Failpoints;
import dev.duet.participant.context.CoordinatorClient;
import dev.duet.participant.context.JoinHandler;
import dev.duet.participant.context.TxContext;
import dev.duet.participant.http.ParticipantEndpoints;
import dev.duet.participant.http.ParticipantOptions;
import dev.duet.participant.jdbc.XaOptions;
import dev.duet.participant.jdbc.XaParticipant;
import dev.duet.participant.recovery.RecoveryWorker;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.ext.web.Router;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Statement;
import java.util.concurrent.TimeUnit;
import javax.sql.XADataSource;
import org.h2.jdbcx.JdbcDataSource;
import org.postgresql.xa.PGXADataSource;

/**
 * A small service that is a Duet participant, run as a child process by the crash tests: the JDBC
 * adapter on H2 or PostgreSQL, its participant endpoints at {@code /duet}, a service route
 * {@code POST /work?id=N} that joins the caller's transaction and inserts row N into
 * {@code crash_rows}, and a recovery worker. Failpoints come from {@code DUET_FAILPOINTS}.
 *
 * <p>Args: name jdbcUrl coordinatorUrl signingSecret portFile
 */
public final class ParticipantMain {
  public static final long RECOVERY_PERIOD_MS = 300;

  public static void main(String[] args) throws Exception {
    String name = args[0];
    String jdbcUrl = args[1];
    String coordinatorUrl = args[2];
    String secret = args[3];
    Path portFile = Path.of(args[4]);
    Failpoints.configure(System.getenv("DUET_FAILPOINTS"));

    XaParticipant participant = new XaParticipant(name, dataSource(jdbcUrl), new XaOptions(16, 200));
    Vertx vertx = Vertx.vertx();
    Router router = Router.router(vertx);
    HttpServer server = vertx.createHttpServer().requestHandler(router).listen(0, "127.0.0.1")
        .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    String participantUrl = "http://127.0.0.1:" + server.actualPort() + "/duet";
    CoordinatorClient coordinator = new CoordinatorClient(vertx, coordinatorUrl, null);

    ParticipantEndpoints.mount(vertx, router, "/duet", participant, ParticipantOptions.defaults().withSigningSecret(secret));
    router.post("/work").handler(JoinHandler.create(coordinator, name, participantUrl)).handler(ctx -> {
      TxContext tx = JoinHandler.txContext(ctx);
      int id = Integer.parseInt(ctx.request().getParam("id"));
      long deadline = JoinHandler.deadlineMs(ctx);
      vertx.executeBlocking(() -> participant.inBranch(tx.txId(), deadline, c -> {
        try (Statement st = c.createStatement()) {
          return st.executeUpdate("INSERT INTO crash_rows VALUES (" + id + ")");
        }
      }), false).onComplete(ar -> ctx.response().setStatusCode(ar.succeeded() ? 200 : 500)
          .end(ar.succeeded() ? "ok" : String.valueOf(ar.cause())));
    });
    new RecoveryWorker(vertx, participant, coordinator, RECOVERY_PERIOD_MS).start();

    Path tmp = portFile.resolveSibling(portFile.getFileName() + ".tmp");
    Files.writeString(tmp, Integer.toString(server.actualPort()));
    Files.move(tmp, portFile, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    System.out.println("participant " + name + " listening at " + participantUrl);
  }

  static XADataSource dataSource(String jdbcUrl) {
    if (jdbcUrl.startsWith("jdbc:h2:")) {
      JdbcDataSource ds = new JdbcDataSource();
      ds.setURL(jdbcUrl);
      ds.setUser("sa");
      return ds;
    }
    PGXADataSource ds = new PGXADataSource();
    ds.setUrl(jdbcUrl);
    return ds;
  }
}

package dev.duet.coordinator.shell;

import dev.duet.coordinator.config.CoordinatorConfig;
import dev.duet.coordinator.http.Api;
import dev.duet.coordinator.http.ParticipantClient;
import dev.duet.coordinator.log.DecisionLog;
import dev.duet.coordinator.log.LogConfig;
import dev.duet.coordinator.metrics.CoordinatorMetrics;
import dev.duet.coordinator.protocol.Coordinator;
import dev.duet.coordinator.recovery.Recovery;
import dev.duet.wire.RequestSigner;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.internal.VertxInternal;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts and stops one coordinator: <b>recovery starts here</b> — the decision log is opened and
 * replayed, every committed-but-not-ended transaction is handed back to its shard, which re-drives
 * phase 2 — and only then does the HTTP API listen.
 */
public final class CoordinatorServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CoordinatorServer.class);

  private final CoordinatorConfig config;
  private final Vertx vertx;
  private final DecisionLog decisionLog;
  private final PrometheusMeterRegistry registry;
  private final List<Shard> shards = new ArrayList<>();
  private final AtomicBoolean closing = new AtomicBoolean();
  private final List<ParticipantClient> clients = new ArrayList<>();
  private final List<HttpServer> servers = new ArrayList<>();
  private int port;
  private int recovered;

  private CoordinatorServer(CoordinatorConfig config) throws IOException {
    this.config = config;
    this.registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    LogConfig logConfig = LogConfig.defaults(config.dataDir())
        .withFsync(config.fsync())
        .withSegmentBytesMax(config.segmentBytesMax())
        .withEndedRetention(config.protocol().finishedRetainedMax(), config.protocol().finishedRetainMs());
    this.decisionLog = DecisionLog.open(logConfig, registry);
    this.vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(Math.max(2, config.shards())));
  }

  /** Opens the log, recovers, and listens. Blocks until ready or failed. */
  public static CoordinatorServer start(CoordinatorConfig config) throws Exception {
    CoordinatorServer server = new CoordinatorServer(config);
    try {
      server.boot();
      return server;
    } catch (Exception e) {
      server.close();
      throw e;
    }
  }

  private void boot() throws Exception {
    RequestSigner signer = config.signingSecret() == null ? null : new RequestSigner(config.signingSecret());
    CoordinatorMetrics metrics = new CoordinatorMetrics(registry, this::stats);
    List<Context> contexts = new ArrayList<>();
    for (int i = 0; i < config.shards(); i++) {
      // A context of its own per shard, on the next event loop. (getOrCreateContext would hand this
      // thread the same context every time and put every shard on one event loop.)
      Context ctx = ((VertxInternal) vertx).createEventLoopContext();
      contexts.add(ctx);
      ParticipantClient client = onContext(ctx, () -> new ParticipantClient(vertx, signer,
          config.prepareCallTimeoutMs(), config.phase2CallTimeoutMs(), config.connectionsPerHostMax()));
      clients.add(client);
      shards.add(new Shard(i, vertx, ctx, config.protocol(), decisionLog, client, metrics,
          config.pendingRequestsMax(), config.tickMs()));
    }
    recovered = Recovery.run(decisionLog, this).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    Api api = new Api(this, metrics, registry, config.clientToken());
    // One server per shard context on one port: Vert.x shares the port and spreads connections
    // over them; a request whose transaction lives on another shard hops there. Vert.x shares a
    // port only when every server names it, so port 0 is resolved to a free port first.
    port = config.port() == 0 ? freePort(config.host()) : config.port();
    for (Context ctx : contexts) {
      HttpServer s = onContext(ctx, () -> vertx.createHttpServer(new HttpServerOptions()
          .setHost(config.host()).setPort(port)
          .setTcpNoDelay(true).setCompressionSupported(false)));
      Future<HttpServer> listening = Future.future(p -> ctx.runOnContext(v ->
          s.requestHandler(api.router(vertx)).listen().onComplete(p)));
      HttpServer bound = listening.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      port = bound.actualPort();
      servers.add(bound);
    }
    log.info("coordinator listening on http://{}:{} (data dir {}, {} shards, {} transactions recovered)",
        config.host(), port, config.dataDir(), config.shards(), recovered);
  }

  private static int freePort(String host) throws IOException {
    try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName(host))) {
      return s.getLocalPort();
    }
  }

  private static <T> T onContext(Context ctx, java.util.concurrent.Callable<T> work) throws Exception {
    java.util.concurrent.CompletableFuture<T> f = new java.util.concurrent.CompletableFuture<>();
    ctx.runOnContext(v -> {
      try {
        f.complete(work.call());
      } catch (Throwable t) {
        f.completeExceptionally(t);
      }
    });
    return f.get(30, TimeUnit.SECONDS);
  }

  /** The shard that owns a transaction id. */
  public Shard shardFor(String txId) {
    return shards.get(Math.floorMod(txId.hashCode(), shards.size()));
  }

  public List<Shard> shards() {
    return shards;
  }

  public DecisionLog decisionLog() {
    return decisionLog;
  }

  public int port() {
    return port;
  }

  public int recovered() {
    return recovered;
  }

  public CoordinatorConfig config() {
    return config;
  }

  /** Sum over shards of the core's counts (refreshed once a second per shard). */
  public Coordinator.Stats stats() {
    int live = 0, finished = 0, committing = 0, aborting = 0, retrying = 0, stuck = 0, timers = 0;
    for (Shard s : shards) {
      Coordinator.Stats st = s.stats();
      live += st.live();
      finished += st.finished();
      committing += st.committing();
      aborting += st.aborting();
      retrying += st.retrying();
      stuck += st.stuck();
      timers += st.timers();
    }
    return new Coordinator.Stats(live, finished, committing, aborting, retrying, stuck, timers);
  }

  /** Idempotent: tests and shutdown hooks may both close. */
  @Override
  public void close() {
    if (!closing.compareAndSet(false, true)) return;
    for (HttpServer s : servers) await(s.close());
    for (Shard s : shards) await(s.stop());
    for (ParticipantClient c : clients) await(c.close());
    await(vertx.close());
    decisionLog.close();
  }

  private static void await(Future<?> f) {
    try {
      f.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      log.warn("shutdown step failed: {}", e.toString());
    }
  }
}

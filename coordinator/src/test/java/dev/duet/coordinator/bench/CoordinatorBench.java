package dev.duet.coordinator.bench;

import dev.duet.coordinator.config.CoordinatorConfig;
import dev.duet.coordinator.log.DecisionLog;
import dev.duet.coordinator.shell.CoordinatorServer;
import dev.duet.wire.AckStatus;
import dev.duet.wire.Json;
import dev.duet.wire.Messages.AckReply;
import dev.duet.wire.Messages.PrepareReply;
import dev.duet.wire.Vote;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Recorder;
import org.HdrHistogram.Histogram;

/**
 * The coordinator's own benchmark (not a test): a closed loop of clients, each running
 * begin → enlist bank-a → enlist bank-b → commit over HTTP, against two minimal participants that
 * answer PREPARED and COMMITTED at once. The decision log fsyncs. Everything runs on this machine.
 *
 * <p>Run: {@code bin/bench-coordinator [--concurrency 1,16,64] [--warmup-seconds 20] [--seconds 15] [--http-floor]}.
 */
public final class CoordinatorBench {

  record Result(int concurrency, double tps, double p50, double p99, double p999, long committed,
      long failed, double fsyncsPerTx, double recordsPerBatch, double cpuMsPerTx) {}

  /** CPU time of this whole process (client, coordinator and participants): robust to a busy machine. */
  static long cpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }

  static int shards = 0;
  /** --http-floor: the same exchanges against a stand-in coordinator that does no work. */
  static boolean httpFloor = false;
  /** --enlist-at-begin: the client names both participants in the begin (2 client calls, not 4). */
  static boolean enlistAtBegin = false;

  public static void main(String[] args) throws Exception {
    int[] levels = {1, 16, 64};
    int warmupSeconds = 20; // 2 cores: C2 needs this long before the numbers settle
    int seconds = 15;
    String out = null;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--concurrency" -> levels = java.util.Arrays.stream(args[++i].split(",")).mapToInt(Integer::parseInt).toArray();
        case "--warmup-seconds" -> warmupSeconds = Integer.parseInt(args[++i]);
        case "--seconds" -> seconds = Integer.parseInt(args[++i]);
        case "--out" -> out = args[++i];
        case "--shards" -> shards = Integer.parseInt(args[++i]);
        case "--http-floor" -> httpFloor = true;
        case "--enlist-at-begin" -> enlistAtBegin = true;
        default -> {
          System.err.println("bench-coordinator: unknown argument " + args[i]
              + " (use --concurrency 1,16,64 --warmup-seconds N --seconds N --shards N --http-floor --enlist-at-begin --out FILE)");
          System.exit(2);
        }
      }
    }
    List<Result> results = new ArrayList<>();
    for (int c : levels) results.add(run(c, warmupSeconds, seconds));
    StringBuilder table = new StringBuilder();
    table.append("| concurrency | committed tx/s | p50 ms | p99 ms | p99.9 ms | failed | fsyncs/tx | records/fsync batch | CPU ms/tx (whole process) |\n");
    table.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (Result r : results) {
      table.append(String.format(Locale.ROOT, "| %d | %.0f | %.2f | %.2f | %.2f | %d | %.3f | %.1f | %.3f |%n",
          r.concurrency, r.tps, r.p50, r.p99, r.p999, r.failed, r.fsyncsPerTx, r.recordsPerBatch, r.cpuMsPerTx));
    }
    String machine = String.format(Locale.ROOT, "%d cores, JVM %s, %d s measured after %d s warm-up, %s",
        Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"), seconds, warmupSeconds,
        (httpFloor ? "HTTP FLOOR: a stand-in coordinator that does no work, no log (not a coordinator)" : "log fsync on")
            + (enlistAtBegin ? ", participants named in the begin (6 exchanges per transaction)" : ", begin + 2 enlists + commit (8 exchanges per transaction)"));
    System.out.println();
    System.out.println(machine);
    System.out.println(table);
    if (out != null) Files.writeString(Path.of(out), machine + "\n\n" + table);
  }

  static Result run(int concurrency, int warmupSeconds, int seconds) throws Exception {
    Path dir = Files.createTempDirectory("duet-bench");
    Vertx pv = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1));
    HttpServer a = participant(pv);
    HttpServer b = participant(pv);
    CoordinatorServer server = null;
    StandIn standIn = null;
    int port;
    if (httpFloor) {
      standIn = StandIn.start(a.actualPort(), b.actualPort());
      port = standIn.port();
    } else {
      CoordinatorConfig config = CoordinatorConfig.defaults(dir, 0);
      if (shards > 0) config = config.withShards(shards);
      server = CoordinatorServer.start(config);
      port = server.port();
    }
    DecisionLog log = server == null ? null : server.decisionLog();
    Vertx cv = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1));
    HttpClient client = cv.createHttpClient(new HttpClientOptions().setKeepAlive(true).setTcpNoDelay(true),
        new PoolOptions().setHttp1MaxSize(concurrency));
    String base = "http://127.0.0.1:" + port;
    String enlistA = "{\"name\":\"bank-a\",\"url\":\"http://127.0.0.1:" + a.actualPort() + "/tx\"}";
    String enlistB = "{\"name\":\"bank-b\",\"url\":\"http://127.0.0.1:" + b.actualPort() + "/tx\"}";
    Recorder recorder = new Recorder(3);
    AtomicLong committed = new AtomicLong();
    AtomicLong failed = new AtomicLong();
    AtomicBoolean running = new AtomicBoolean(true);
    for (int i = 0; i < concurrency; i++) {
      cv.runOnContext(v -> loop(client, base, enlistA, enlistB, recorder, committed, failed, running));
    }
    Thread.sleep(warmupSeconds * 1000L);
    recorder.reset();
    DecisionLog.Stats before = log == null ? null : log.stats();
    long committedBefore = committed.get();
    long failedBefore = failed.get();
    long start = System.nanoTime();
    long cpuStart = cpuNanos();
    Thread.sleep(seconds * 1000L);
    long cpu = cpuNanos() - cpuStart;
    long elapsed = System.nanoTime() - start;
    Histogram h = recorder.getIntervalHistogram();
    DecisionLog.Stats after = log == null ? null : log.stats();
    long n = committed.get() - committedBefore;
    running.set(false);
    Thread.sleep(500);
    long fsyncs = log == null ? 0 : after.fsyncs() - before.fsyncs();
    long records = log == null ? 0 : after.records() - before.records();
    Result r = new Result(concurrency, n / (elapsed / 1e9), h.getValueAtPercentile(50) / 1e3,
        h.getValueAtPercentile(99) / 1e3, h.getValueAtPercentile(99.9) / 1e3, n,
        failed.get() - failedBefore, n == 0 ? 0 : (double) fsyncs / n, fsyncs == 0 ? 0 : (double) records / fsyncs,
        n == 0 ? 0 : cpu / 1e6 / n);
    System.out.printf(Locale.ROOT, "%sconcurrency %d: %.0f tx/s p50 %.2f ms p99 %.2f ms fsyncs/tx %.3f cpu ms/tx %.3f%n",
        httpFloor ? "HTTP floor, " : "", concurrency, r.tps, r.p50, r.p99, r.fsyncsPerTx, r.cpuMsPerTx);
    client.close();
    cv.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    if (server != null) server.close();
    if (standIn != null) standIn.close();
    pv.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    return r;
  }

  /**
   * The floor under any coordinator that talks this protocol over HTTP in this topology: the same
   * client loop and participants, the same 8 exchanges per transaction (4 client calls; on commit,
   * prepare both participants, then commit both), but the coordinator is this stand-in, which parses
   * nothing, logs nothing and answers fixed bodies. No real coordinator can be faster than this.
   */
  record StandIn(Vertx vertx, int port) {
    static StandIn start(int portA, int portB) throws Exception {
      Vertx sv = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(2)); // as the coordinator's 2 shards
      HttpClient toParticipants = sv.createHttpClient(new HttpClientOptions().setKeepAlive(true).setTcpNoDelay(true),
          new PoolOptions().setHttp1MaxSize(64));
      String pa = "http://127.0.0.1:" + portA + "/tx";
      String pb = "http://127.0.0.1:" + portB + "/tx";
      String request = "{\"txId\":\"01JDUMMYDUMMYDUMMYDUMMYDUM\",\"participant\":\"p\"}";
      Buffer begun = Buffer.buffer("{\"id\":\"01JDUMMYDUMMYDUMMYDUMMYDUM\",\"state\":\"ACTIVE\"}");
      Buffer enlisted = Buffer.buffer("{\"participant\":\"p\"}");
      Buffer done = Buffer.buffer("{\"id\":\"01JDUMMYDUMMYDUMMYDUMMYDUM\",\"outcome\":\"COMMITTED\"}");
      int port;
      try (java.net.ServerSocket free = new java.net.ServerSocket(0)) {
        port = free.getLocalPort(); // two servers on one fixed port: Vert.x spreads them over both loops
      }
      for (int i = 0; i < 2; i++) {
        sv.createHttpServer().requestHandler(req -> req.body().onSuccess(x -> {
          String path = req.path();
          if (path.endsWith("/commit")) {
            Future.all(post(toParticipants, pa + "/prepare", request, 200), post(toParticipants, pb + "/prepare", request, 200))
                .compose(v -> Future.all(post(toParticipants, pa + "/commit", request, 200),
                    post(toParticipants, pb + "/commit", request, 200)))
                .onComplete(ar -> req.response().setStatusCode(ar.succeeded() ? 200 : 503).end(done));
          } else {
            req.response().setStatusCode(201).end(path.endsWith("/participants") ? enlisted : begun);
          }
        })).listen(port, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      }
      return new StandIn(sv, port);
    }

    void close() throws Exception {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }

  /** One client: transactions back to back until told to stop. Latency in microseconds. */
  static void loop(HttpClient client, String base, String enlistA, String enlistB, Recorder recorder,
      AtomicLong committed, AtomicLong failed, AtomicBoolean running) {
    if (!running.get()) return;
    long start = System.nanoTime();
    String begin = enlistAtBegin ? "{\"participants\":[" + enlistA + "," + enlistB + "]}" : "{}";
    post(client, base + "/v1/transactions", begin, 201)
        .compose(body -> {
          String id = body.toJsonObject().getString("id");
          String tx = base + "/v1/transactions/" + id;
          if (enlistAtBegin) return post(client, tx + "/commit", "", 200);
          return post(client, tx + "/participants", enlistA, 201)
              .compose(x -> post(client, tx + "/participants", enlistB, 201))
              .compose(x -> post(client, tx + "/commit", "", 200));
        })
        .onComplete(ar -> {
          if (ar.succeeded()) {
            committed.incrementAndGet();
            recorder.recordValue(Math.max(1, (System.nanoTime() - start) / 1000));
          } else {
            failed.incrementAndGet();
          }
          loop(client, base, enlistA, enlistB, recorder, committed, failed, running);
        });
  }

  static Future<Buffer> post(HttpClient client, String url, String body, int expected) {
    return client.request(new RequestOptions().setMethod(HttpMethod.POST).setAbsoluteURI(url).setTimeout(30_000))
        .compose(req -> req.send(body)
            .compose(resp -> resp.body().map(b -> {
              if (resp.statusCode() != expected) throw new IllegalStateException(resp.statusCode() + " " + b);
              return b;
            })));
  }

  /** A participant that votes PREPARED and acknowledges at once: the coordinator's cost alone. */
  static HttpServer participant(Vertx vertx) throws Exception {
    Buffer prepared = Buffer.buffer(Json.write(new PrepareReply(Vote.PREPARED, null)));
    Buffer ack = Buffer.buffer(Json.write(new AckReply(AckStatus.COMMITTED, null)));
    return vertx.createHttpServer().requestHandler(req -> req.body().onSuccess(b ->
            req.response().putHeader("Content-Type", "application/json")
                .end(req.path().endsWith("/prepare") ? prepared : ack)))
        .listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }
}

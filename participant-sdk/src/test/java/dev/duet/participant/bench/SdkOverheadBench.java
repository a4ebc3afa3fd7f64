package dev.duet.participant.bench;

import dev.duet.coordinator.http.ParticipantClient;
import dev.duet.participant.Participant;
import dev.duet.participant.http.ParticipantEndpoints;
import dev.duet.participant.http.ParticipantOptions;
import dev.duet.participant.jdbc.XaOptions;
import dev.duet.participant.jdbc.XaParticipant;
import dev.duet.participant.support.TestDb;
import dev.duet.wire.AckStatus;
import dev.duet.wire.RequestSigner;
import dev.duet.wire.TxIds;
import dev.duet.wire.Vote;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.ext.web.Router;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import javax.sql.XAConnection;
import javax.transaction.xa.XAResource;
import javax.transaction.xa.Xid;
import org.HdrHistogram.Histogram;
import org.postgresql.xa.PGXADataSource;

/**
 * The participant SDK's overhead over raw XA, on embedded PostgreSQL (fsync on): prepare + commit of
 * a one-row update, (a) calling the XAResource directly on a held connection, (b) the adapter alone,
 * calling {@code XaParticipant.prepare/commit} in-process, (c) through the SDK: the work in
 * {@code XaParticipant.inBranch}, then signed HTTP prepare and commit calls to the participant
 * endpoints, made by the coordinator's own {@code ParticipantClient} from its event loop, as the
 * coordinator makes them, (d) the same, but with the benchmark thread waiting for each call, and
 * (e) the two signed HTTP calls of (c) to a participant that does nothing: the transport's share.
 * The participant service and the coordinator side have a Vert.x instance each. Each worker updates
 * its own row, so workers never wait on each other's locks. A benchmark, not a test.
 *
 * <p>The host's speed drifts by tens of percent over minutes, so the paths take turns: after one
 * warm-up window each, every round measures each path for one window, and the overhead is the
 * median over rounds of (c)'s p50 minus (a)'s p50 in the same round.
 *
 * <p>Run (from the repository root):
 *
 * <pre>
 * ./mvnw -B -q -pl participant-sdk test-compile dependency:build-classpath \
 *     -Dmdep.outputFile=/tmp/sdk-cp.txt -Dmdep.includeScope=test
 * java -cp participant-sdk/target/test-classes:participant-sdk/target/classes:$(cat /tmp/sdk-cp.txt) \
 *     dev.duet.participant.bench.SdkOverheadBench 5 20 5
 * </pre>
 *
 * Args: [secondsPerWindow=5] [warmupSeconds=20] [rounds=5] [concurrencies=1,16].
 */
public final class SdkOverheadBench {
  private static final String SECRET = "bench-signing-secret-0123456789";
  private static final String RAW = "raw XA";
  private static final String ADAPTER = "SDK adapter, no HTTP";
  private static final String SDK = "SDK over HTTP";
  private static final String SDK_BLOCKING = "SDK over HTTP, each call awaited by a thread";
  private static final String NO_OP = "HTTP only, no-op participant";
  private static final int ROUNDS_MAX = 100;
  /** Branches committed by the XA paths; each adds 1 to one row, so the table's sum must match. */
  private static final AtomicLong COMMITTED = new AtomicLong();

  public static void main(String[] args) throws Exception {
    try {
      bench(args);
    } catch (Throwable e) {
      e.printStackTrace();
      System.exit(1); // the server's and the client's threads would keep the JVM up
    }
    System.exit(0);
  }

  static void bench(String[] args) throws Exception {
    int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
    int warmup = args.length > 1 ? Integer.parseInt(args[1]) : 20; // 2 cores: the JIT needs this long
    int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 5;
    int[] concurrencies = Arrays.stream((args.length > 3 ? args[3] : "1,16").split(",")).mapToInt(Integer::parseInt).toArray();
    if (seconds < 1 || warmup < 0 || rounds < 1 || rounds > ROUNDS_MAX || concurrencies.length == 0) {
      throw new IllegalArgumentException("usage: SdkOverheadBench [secondsPerWindow>=1] [warmupSeconds>=0] [rounds 1.."
          + ROUNDS_MAX + "] [concurrencies, e.g. 1,16]");
    }
    try (EmbeddedPostgres pg = TestDb.startPostgres(64)) {
      PGXADataSource ds = TestDb.pgXa(pg.getPort());
      try (Connection c = ds.getConnection(); Statement st = c.createStatement()) {
        st.execute("CREATE TABLE bench (id INT PRIMARY KEY, balance BIGINT NOT NULL)");
        for (int i = 0; i < 64; i++) st.execute("INSERT INTO bench VALUES (" + i + ", 0)");
      }
      // Two Vert.x instances, as in production two processes: the participant service's and the
      // coordinator's, so requests and replies cross event loops as they would between processes.
      Vertx service = Vertx.vertx();
      Vertx coordinator = Vertx.vertx();
      XaParticipant participant = new XaParticipant("bench", ds, new XaOptions(64, 1000));
      ParticipantOptions options = ParticipantOptions.defaults().withSigningSecret(SECRET).withWorkerPoolSize(32);
      Router router = Router.router(service);
      ParticipantEndpoints.mount(service, router, "/duet", participant, options);
      ParticipantEndpoints.mount(service, router, "/noop", new NoOpParticipant(), options);
      HttpServer server = service.createHttpServer().requestHandler(router).listen(0, "127.0.0.1")
          .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      String base = "http://127.0.0.1:" + server.actualPort();
      ParticipantClient client = new ParticipantClient(coordinator, new RequestSigner(SECRET), 10_000, 10_000, 64);

      System.out.printf("%d rounds of %d s windows per path, after %d s of warm-up each%n%n", rounds, seconds, warmup);
      System.out.println("| path | concurrency | ops/s | p50 ms | p99 ms | p99.9 ms |");
      System.out.println("|---|---:|---:|---:|---:|---:|");
      List<String> overheads = new ArrayList<>();
      for (int c : concurrencies) {
        Map<String, Op> ops = new LinkedHashMap<>();
        ops.put(RAW, rawOp(ds));
        ops.put(ADAPTER, adapterOp(participant));
        ops.put(SDK, sdkOp(participant, coordinator, client, base + "/duet", false));
        ops.put(SDK_BLOCKING, sdkOp(participant, coordinator, client, base + "/duet", true));
        ops.put(NO_OP, noOpHttp(coordinator, client, base + "/noop"));
        for (Op op : ops.values()) run(op, c, warmup);
        Map<String, Histogram> all = new LinkedHashMap<>();
        Map<String, Double> opsPerSec = new LinkedHashMap<>();
        double[] diffs = new double[rounds];
        for (int r = 0; r < rounds; r++) {
          Map<String, Double> p50s = new LinkedHashMap<>();
          for (Map.Entry<String, Op> e : ops.entrySet()) {
            Result res = run(e.getValue(), c, seconds);
            all.computeIfAbsent(e.getKey(), k -> new Histogram(TimeUnit.SECONDS.toNanos(10), 3)).add(res.h);
            opsPerSec.merge(e.getKey(), res.opsPerSec / rounds, Double::sum);
            p50s.put(e.getKey(), res.h.getValueAtPercentile(50) / 1e6);
          }
          diffs[r] = p50s.get(SDK) - p50s.get(RAW);
        }
        for (String mode : ops.keySet()) {
          Histogram h = all.get(mode);
          System.out.printf("| %s | %d | %.0f | %.3f | %.3f | %.3f |%n", mode, c, opsPerSec.get(mode),
              h.getValueAtPercentile(50) / 1e6, h.getValueAtPercentile(99) / 1e6, h.getValueAtPercentile(99.9) / 1e6);
        }
        double[] sorted = diffs.clone();
        Arrays.sort(sorted);
        overheads.add(String.format("concurrency %d: the SDK over HTTP adds %.3f ms at p50 per branch (median of %d rounds;"
            + " per round %s)", c, sorted[rounds / 2], rounds,
            Arrays.stream(diffs).mapToObj(d -> String.format("%+.3f", d)).collect(Collectors.joining(" "))));
      }
      System.out.println();
      overheads.forEach(System.out::println);
      checkMoney(ds);
      client.close();
      coordinator.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      service.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      participant.close();
    }
  }

  /** Every committed branch is in the table exactly once and nothing is left prepared, or the figures mean nothing. */
  static void checkMoney(PGXADataSource ds) throws Exception {
    try (Connection c = ds.getConnection(); Statement st = c.createStatement()) {
      long sum;
      try (ResultSet rs = st.executeQuery("SELECT COALESCE(SUM(balance), 0) FROM bench")) {
        rs.next();
        sum = rs.getLong(1);
      }
      long prepared;
      try (ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM pg_prepared_xacts")) {
        rs.next();
        prepared = rs.getLong(1);
      }
      if (sum != COMMITTED.get() || prepared != 0) {
        throw new IllegalStateException("CHECK FAILED: " + COMMITTED.get() + " branches committed, the table sums to " + sum
            + ", " + prepared + " left prepared");
      }
      System.out.printf("CHECK OK: %d committed branches, each once in the table; nothing left prepared%n", sum);
    }
  }

  /** Answers every call at once and touches nothing: the HTTP calls' cost without any database work. */
  static final class NoOpParticipant implements Participant {
    @Override
    public String name() {
      return "noop";
    }

    @Override
    public Vote prepare(String txId) {
      return Vote.PREPARED;
    }

    @Override
    public AckStatus commit(String txId, boolean onePhase) {
      return AckStatus.COMMITTED;
    }

    @Override
    public AckStatus rollback(String txId) {
      return AckStatus.ROLLED_BACK;
    }

    @Override
    public List<String> inDoubt() {
      return List.of();
    }
  }

  /** One prepare+commit of a one-row update on row {@code worker}; a worker's state lives in the op. */
  interface Op {
    Worker worker(int id) throws Exception;
  }

  interface Worker {
    void once() throws Exception;

    default void close() throws Exception {}
  }

  static Op rawOp(PGXADataSource ds) {
    return id -> {
      XAConnection xc = ds.getXAConnection();
      Connection c = xc.getConnection();
      XAResource xa = xc.getXAResource();
      PreparedStatement update = c.prepareStatement("UPDATE bench SET balance = balance + 1 WHERE id = ?");
      return new Worker() {
        @Override
        public void once() throws Exception {
          Xid xid = new BenchXid(TxIds.next(System.currentTimeMillis()));
          xa.start(xid, XAResource.TMNOFLAGS);
          update.setInt(1, id);
          update.executeUpdate();
          xa.end(xid, XAResource.TMSUCCESS);
          if (xa.prepare(xid) != XAResource.XA_OK) throw new IllegalStateException("not prepared");
          xa.commit(xid, false);
          COMMITTED.incrementAndGet();
        }

        @Override
        public void close() throws Exception {
          xc.close();
        }
      };
    };
  }

  /** The adapter alone: what {@link #sdkOp} does minus the two HTTP calls. */
  static Op adapterOp(XaParticipant participant) {
    return id -> () -> {
      String tx = TxIds.next(System.currentTimeMillis());
      participant.inBranch(tx, System.currentTimeMillis() + 60_000, c -> {
        try (PreparedStatement ps = c.prepareStatement("UPDATE bench SET balance = balance + 1 WHERE id = ?")) {
          ps.setInt(1, id);
          return ps.executeUpdate();
        }
      });
      if (participant.prepare(tx) != Vote.PREPARED) throw new IllegalStateException("not prepared");
      if (participant.commit(tx, false) != AckStatus.COMMITTED) throw new IllegalStateException("not committed");
      COMMITTED.incrementAndGet();
    };
  }

  /**
   * The work in a branch, then prepare and commit over HTTP. As the coordinator makes them, the two
   * calls run one after the other on the coordinator's event loop, and the benchmark thread waits
   * once for both. {@code blocking}: the benchmark thread waits for each call instead, which adds
   * two thread hand-offs per call that no coordinator makes (its calls never block a thread).
   */
  static Op sdkOp(XaParticipant participant, Vertx coordinator, ParticipantClient client, String url, boolean blocking) {
    return id -> {
      Context loop = coordinator.getOrCreateContext();
      return () -> {
        String tx = TxIds.next(System.currentTimeMillis());
        participant.inBranch(tx, System.currentTimeMillis() + 60_000, c -> {
          try (PreparedStatement ps = c.prepareStatement("UPDATE bench SET balance = balance + 1 WHERE id = ?")) {
            ps.setInt(1, id);
            return ps.executeUpdate();
          }
        });
        if (blocking) {
          Vote v = client.prepare(url, tx, "bench").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS).vote();
          if (v != Vote.PREPARED) throw new IllegalStateException("vote " + v);
          AckStatus s = client.commit(url, tx, "bench", false).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
          if (s != AckStatus.COMMITTED) throw new IllegalStateException("ack " + s);
        } else {
          prepareThenCommit(loop, client, url, tx, "bench");
        }
        COMMITTED.incrementAndGet();
      };
    };
  }

  static Op noOpHttp(Vertx coordinator, ParticipantClient client, String url) {
    return id -> {
      Context loop = coordinator.getOrCreateContext();
      return () -> prepareThenCommit(loop, client, url, TxIds.next(System.currentTimeMillis()), "noop");
    };
  }

  /** Prepare, and on a PREPARED vote commit, both sent from {@code loop} as the coordinator sends them. */
  static void prepareThenCommit(Context loop, ParticipantClient client, String url, String tx, String name) throws Exception {
    CompletableFuture<AckStatus> done = new CompletableFuture<>();
    loop.runOnContext(v -> client.prepare(url, tx, name)
        .compose(reply -> reply.vote() == Vote.PREPARED
            ? client.commit(url, tx, name, false)
            : Future.failedFuture(new IllegalStateException("vote " + reply.vote())))
        .onComplete(ar -> {
          if (ar.succeeded()) done.complete(ar.result());
          else done.completeExceptionally(ar.cause());
        }));
    AckStatus s = done.get(10, TimeUnit.SECONDS);
    if (s != AckStatus.COMMITTED) throw new IllegalStateException("ack " + s);
  }

  record Result(Histogram h, double opsPerSec) {}

  static Result run(Op op, int concurrency, int seconds) throws Exception {
    AtomicBoolean stop = new AtomicBoolean();
    List<Histogram> hs = new ArrayList<>();
    List<Thread> threads = new ArrayList<>();
    List<Throwable> errors = new java.util.concurrent.CopyOnWriteArrayList<>();
    for (int i = 0; i < concurrency; i++) {
      Histogram h = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
      hs.add(h);
      Worker w = op.worker(i);
      Thread t = new Thread(() -> {
        try {
          while (!stop.get()) {
            long t0 = System.nanoTime();
            w.once();
            h.recordValue(Math.min(System.nanoTime() - t0, TimeUnit.SECONDS.toNanos(10)));
          }
          w.close();
        } catch (Throwable e) {
          errors.add(e);
        }
      });
      threads.add(t);
    }
    long start = System.nanoTime();
    threads.forEach(Thread::start);
    Thread.sleep(seconds * 1000L);
    stop.set(true);
    for (Thread t : threads) t.join();
    double elapsed = (System.nanoTime() - start) / 1e9;
    if (!errors.isEmpty()) throw new IllegalStateException("benchmark op failed", errors.get(0));
    Histogram all = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
    hs.forEach(all::add);
    return new Result(all, all.getTotalCount() / elapsed);
  }

  static final class BenchXid implements Xid {
    private final byte[] gtrid;

    BenchXid(String txId) {
      this.gtrid = txId.getBytes(StandardCharsets.US_ASCII);
    }

    @Override
    public int getFormatId() {
      return 0x42454e43;
    }

    @Override
    public byte[] getGlobalTransactionId() {
      return gtrid;
    }

    @Override
    public byte[] getBranchQualifier() {
      return "raw".getBytes(StandardCharsets.US_ASCII);
    }
  }
}

package dev.duet.participant.bench;

import dev.duet.coordinator.http.ParticipantClient;
import dev.duet.participant.http.ParticipantEndpoints;
import dev.duet.participant.http.ParticipantOptions;
import dev.duet.participant.jdbc.XaOptions;
import dev.duet.participant.jdbc.XaParticipant;
import dev.duet.participant.support.TestDb;
import dev.duet.wire.AckStatus;
import dev.duet.wire.RequestSigner;
import dev.duet.wire.TxIds;
import dev.duet.wire.Vote;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.sql.XAConnection;
import javax.transaction.xa.XAResource;
import javax.transaction.xa.Xid;
import org.HdrHistogram.Histogram;
import org.postgresql.xa.PGXADataSource;

/**
 * The participant SDK's overhead over raw XA, on embedded PostgreSQL (fsync on): prepare + commit of
 * a one-row update, (a) calling the XAResource directly on a held connection, (b) through the SDK:
 * the work in {@code XaParticipant.inBranch}, then signed HTTP prepare and commit calls to the
 * participant endpoints, made by the coordinator's own {@code ParticipantClient}; and (c) the
 * adapter alone, calling {@code XaParticipant.prepare/commit} directly, to separate its cost from
 * the HTTP hops'. Each worker
 * updates its own row, so workers never wait on each other's locks. A benchmark, not a test.
 *
 * <p>Run (from the repository root):
 *
 * <pre>
 * ./mvnw -B -o -q -pl participant-sdk test-compile dependency:build-classpath \
 *     -Dmdep.outputFile=/tmp/sdk-cp.txt -Dmdep.includeScope=test
 * java -cp participant-sdk/target/test-classes:participant-sdk/target/classes:$(cat /tmp/sdk-cp.txt) \
 *     dev.duet.participant.bench.SdkOverheadBench 20 3
 * </pre>
 *
 * Args: [secondsPerCell=20] [warmupSeconds=20].
 */
public final class SdkOverheadBench {
  private static final String SECRET = "bench-signing-secret-0123456789";
  private static final int[] CONCURRENCY = {1, 16};

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
    int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 20;
    int warmup = args.length > 1 ? Integer.parseInt(args[1]) : 20; // 2 cores: the JIT needs this long
    try (EmbeddedPostgres pg = TestDb.startPostgres(64)) {
      PGXADataSource ds = TestDb.pgXa(pg.getPort());
      try (Connection c = ds.getConnection(); Statement st = c.createStatement()) {
        st.execute("CREATE TABLE bench (id INT PRIMARY KEY, balance BIGINT NOT NULL)");
        for (int i = 0; i < 64; i++) st.execute("INSERT INTO bench VALUES (" + i + ", 0)");
      }
      Vertx vertx = Vertx.vertx();
      XaParticipant participant = new XaParticipant("bench", ds, new XaOptions(64, 1000));
      HttpServer server = ParticipantEndpoints.serve(vertx, "127.0.0.1", 0, "/duet", participant,
          ParticipantOptions.defaults().withSigningSecret(SECRET).withWorkerPoolSize(32))
          .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      String url = "http://127.0.0.1:" + server.actualPort() + "/duet";
      ParticipantClient client = new ParticipantClient(vertx, new RequestSigner(SECRET), 10_000, 10_000, 64);

      System.out.println("| path | concurrency | ops/s | p50 ms | p99 ms | p99.9 ms |");
      System.out.println("|---|---:|---:|---:|---:|---:|");
      for (int c : CONCURRENCY) {
        for (String mode : List.of("raw XA", "SDK adapter, no HTTP", "SDK over HTTP")) {
          Op op = switch (mode) {
            case "raw XA" -> rawOp(ds);
            case "SDK adapter, no HTTP" -> adapterOp(participant);
            default -> sdkOp(participant, client, url);
          };
          run(op, c, warmup);
          Result r = run(op, c, seconds);
          System.out.printf("| %s | %d | %.0f | %.3f | %.3f | %.3f |%n", mode, c, r.opsPerSec,
              r.h.getValueAtPercentile(50) / 1e6, r.h.getValueAtPercentile(99) / 1e6, r.h.getValueAtPercentile(99.9) / 1e6);
        }
      }
      client.close();
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      participant.close();
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
    };
  }

  static Op sdkOp(XaParticipant participant, ParticipantClient client, String url) {
    return id -> () -> {
      String tx = TxIds.next(System.currentTimeMillis());
      participant.inBranch(tx, System.currentTimeMillis() + 60_000, c -> {
        try (PreparedStatement ps = c.prepareStatement("UPDATE bench SET balance = balance + 1 WHERE id = ?")) {
          ps.setInt(1, id);
          return ps.executeUpdate();
        }
      });
      Vote v = client.prepare(url, tx, "bench").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS).vote();
      if (v != Vote.PREPARED) throw new IllegalStateException("vote " + v);
      AckStatus s = client.commit(url, tx, "bench", false).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      if (s != AckStatus.COMMITTED) throw new IllegalStateException("ack " + s);
    };
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

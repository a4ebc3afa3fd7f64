package dev.duet.bank.load;

import com.fasterxml.jackson.databind.JsonNode;
import dev.duet.bank.load.Audit.BankTotals;
import dev.duet.bank.load.Audit.Outcome;
import dev.duet.bank.load.Audit.Sent;
import dev.duet.wire.Json;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Closed-loop load: {@code --concurrency} clients each send a random transfer, wait for the answer,
 * send the next, for {@code --seconds}. Then it waits for quiescence and audits: the sum over all
 * banks is what it was before, and every transfer is in both banks' ledgers or in neither.
 */
@Command(name = "load", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Random transfers between random accounts, then an audit. Exits 1 if the audit fails.")
public final class LoadCommand implements Callable<Integer> {
  /** Longest a client waits for one answer. */
  private static final long REQUEST_TIMEOUT_MS = 30_000;

  @Spec
  CommandLine.Model.CommandSpec spec;

  @Option(names = "--transfers", defaultValue = "http://127.0.0.1:8080", description = "Transfer service URL. Default: ${DEFAULT-VALUE}")
  String transfers;

  @Option(names = "--bank", required = true, description = "A bank to send between and audit, NAME=URL (repeat)")
  Map<String, String> banks = new LinkedHashMap<>();

  @Option(names = "--concurrency", defaultValue = "32", description = "Clients, each with one transfer in flight. Default: ${DEFAULT-VALUE}")
  int concurrency;

  @Option(names = "--warmup-seconds", defaultValue = "0", description = "Send this long first without measuring"
      + " (the JIT of four JVMs on two cores needs 20-30 s to settle); these transfers are audited too."
      + " Default: ${DEFAULT-VALUE}")
  int warmupSeconds;

  @Option(names = "--seconds", defaultValue = "30", description = "How long to send. Default: ${DEFAULT-VALUE}")
  int seconds;

  @Option(names = "--amount-max", defaultValue = "1000", description = "Largest amount sent (minor units). Default: ${DEFAULT-VALUE}")
  long amountMax;

  @Option(names = "--seed", description = "Random seed. Default: time based")
  Long seed;

  @Option(names = "--quiescence-timeout-s", defaultValue = "120",
      description = "How long to wait for in-doubt branches to resolve before the audit. Default: ${DEFAULT-VALUE}")
  int quiescenceTimeoutS;

  @Override
  public Integer call() throws Exception {
    if (concurrency < 1 || concurrency > 4096) throw bad("--concurrency must be 1..4096");
    if (seconds < 1 || seconds > 86_400) throw bad("--seconds must be 1..86400");
    if (warmupSeconds < 0 || warmupSeconds > 3_600) throw bad("--warmup-seconds must be 0..3600");
    if (amountMax < 1 || amountMax > dev.duet.bank.web.Money.AMOUNT_MAX) throw bad("--amount-max must be 1.." + dev.duet.bank.web.Money.AMOUNT_MAX);
    if (banks.size() < 1) throw bad("name at least one --bank");
    PrintStream out = System.out;
    Audit audit = new Audit(banks);
    out.printf("waiting for quiescence before the run...%n");
    Map<String, BankTotals> before = audit.awaitQuiescence(Duration.ofSeconds(quiescenceTimeoutS));
    long s = seed != null ? seed : System.nanoTime();
    out.printf("sending for %d s (after %d s of warm-up) with %d clients to %s (seed %d)%n", seconds, warmupSeconds,
        concurrency, transfers, s);
    Result r = run(transfers.replaceAll("/+$", ""), before, concurrency, warmupSeconds, seconds, amountMax, s);
    long quiesceStart = System.nanoTime();
    Map<String, BankTotals> after;
    try {
      after = audit.awaitQuiescence(Duration.ofSeconds(quiescenceTimeoutS));
    } catch (IllegalStateException e) {
      out.println("AUDIT FAILED: " + e.getMessage());
      return 1;
    }
    double quiesceS = (System.nanoTime() - quiesceStart) / 1e9;
    Audit.LedgerCheck ledger = audit.checkLedger(r.sent());
    boolean ok = report(out, r, before, after, ledger, quiesceS, concurrency);
    return ok ? 0 : 1;
  }

  /**
   * What the clients saw. The counts cover every transfer sent (all of them are audited);
   * {@code latency}, {@code measured} and {@code measuredCommitted} only those begun after the warm-up,
   * over {@code elapsedS}.
   */
  public record Result(List<Sent> sent, Histogram latency, double elapsedS, Map<String, Integer> abortReasons,
      int committed, int aborted, int unknown, int rejected, int failed, int measured, int measuredCommitted) {}

  public static Result run(String transfersUrl, Map<String, BankTotals> banks, int concurrency, int seconds,
      long amountMax, long seed) throws InterruptedException {
    return run(transfersUrl, banks, concurrency, 0, seconds, amountMax, seed);
  }

  /** Runs the closed loop on one event loop; every callback runs there, so no locking is needed. */
  public static Result run(String transfersUrl, Map<String, BankTotals> banks, int concurrency, int warmupSeconds,
      int seconds, long amountMax, long seed) throws InterruptedException {
    Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1));
    try {
      HttpClient client = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true).setTcpNoDelay(true),
          new PoolOptions().setHttp1MaxSize(concurrency).setMaxWaitQueueSize(concurrency));
      long measureFrom = System.nanoTime() + TimeUnit.SECONDS.toNanos(warmupSeconds);
      Loop loop = new Loop(client, transfersUrl, new ArrayList<>(banks.values()), amountMax, seed, measureFrom,
          measureFrom + TimeUnit.SECONDS.toNanos(seconds), concurrency);
      Context ctx = vertx.getOrCreateContext();
      ctx.runOnContext(v -> {
        for (int i = 0; i < concurrency; i++) loop.fire();
      });
      if (!loop.done.await(warmupSeconds + seconds + REQUEST_TIMEOUT_MS / 1000 + 30, TimeUnit.SECONDS)) {
        throw new IllegalStateException("clients did not finish");
      }
      double elapsed = (System.nanoTime() - measureFrom) / 1e9;
      return new Result(loop.sent, loop.latency, elapsed, loop.abortReasons, loop.committed, loop.aborted,
          loop.unknown, loop.rejected, loop.failed, loop.measured, loop.measuredCommitted);
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().join();
    }
  }

  private static final class Loop {
    final HttpClient client;
    final String url;
    final List<BankTotals> banks;
    final long amountMax;
    final SplittableRandom random;
    final long measureFromNanos;
    final long endNanos;
    final CountDownLatch done;
    final List<Sent> sent = new ArrayList<>();
    final Histogram latency = new Histogram(TimeUnit.MINUTES.toMicros(1), 3);
    final Map<String, Integer> abortReasons = new TreeMap<>();
    int committed, aborted, unknown, rejected, failed, measured, measuredCommitted;

    Loop(HttpClient client, String url, List<BankTotals> banks, long amountMax, long seed, long measureFromNanos,
        long endNanos, int lanes) {
      this.measureFromNanos = measureFromNanos;
      this.client = client;
      this.url = url;
      this.banks = banks;
      this.amountMax = amountMax;
      this.random = new SplittableRandom(seed);
      this.endNanos = endNanos;
      this.done = new CountDownLatch(lanes);
    }

    void fire() {
      if (System.nanoTime() >= endNanos) {
        done.countDown();
        return;
      }
      BankTotals from = banks.get(random.nextInt(banks.size()));
      BankTotals to = banks.get(random.nextInt(banks.size()));
      long fromAccount = 1 + random.nextLong(Math.max(1, from.accounts()));
      long toAccount = 1 + random.nextLong(Math.max(1, to.accounts()));
      if (from == to && fromAccount == toAccount) {
        toAccount = toAccount % Math.max(1, to.accounts()) + 1;
      }
      long amount = 1 + random.nextLong(amountMax);
      String body = "{\"from\":{\"bank\":\"" + from.bank() + "\",\"account\":" + fromAccount + "},\"to\":{\"bank\":\""
          + to.bank() + "\",\"account\":" + toAccount + "},\"amount\":" + amount + "}";
      long t0 = System.nanoTime();
      long fa = fromAccount, ta = toAccount;
      client.request(new RequestOptions().setMethod(HttpMethod.POST).setAbsoluteURI(url + "/transfers")
              .setTimeout(REQUEST_TIMEOUT_MS).putHeader("Content-Type", "application/json"))
          .compose(req -> req.send(Buffer.buffer(body))
              .compose(resp -> resp.body().map(b -> new Object[] {resp.statusCode(), b})))
          .onComplete(ar -> {
            boolean inWindow = t0 >= measureFromNanos;
            if (inWindow) {
              latency.recordValue(Math.min(latency.getHighestTrackableValue(), (System.nanoTime() - t0) / 1000));
              measured++;
            }
            if (ar.failed()) {
              failed++;
            } else {
              int status = (Integer) ar.result()[0];
              JsonNode json = null;
              try {
                json = Json.LENIENT.readTree(((Buffer) ar.result()[1]).getBytes());
              } catch (Exception ignored) {
                // counted as failed below if it carries no outcome
              }
              String txId = json != null && json.hasNonNull("txId") ? json.get("txId").asText() : null;
              String st = json != null && json.hasNonNull("status") ? json.get("status").asText() : "";
              Outcome outcome = null;
              if (status == 201 && st.equals("COMMITTED")) {
                outcome = Outcome.COMMITTED;
                committed++;
                if (inWindow) measuredCommitted++;
              } else if (txId != null && st.equals("ABORTED")) {
                outcome = Outcome.ABORTED;
                aborted++;
                abortReasons.merge(json.path("error").asText("ABORTED"), 1, Integer::sum);
              } else if (txId != null) {
                outcome = Outcome.UNKNOWN;
                unknown++;
              } else if (status == 503) {
                rejected++;
              } else {
                failed++;
              }
              if (outcome != null) sent.add(new Sent(txId, from.bank(), fa, to.bank(), ta, amount, outcome));
            }
            fire();
          });
    }
  }

  static boolean report(PrintStream out, Result r, Map<String, BankTotals> before, Map<String, BankTotals> after,
      Audit.LedgerCheck ledger, double quiesceS, int concurrency) {
    int total = r.committed() + r.aborted() + r.unknown() + r.rejected() + r.failed();
    Histogram h = r.latency();
    out.println();
    out.printf("| %-22s | %-44s |%n", "measure", "value");
    out.printf("|%s|%s|%n", "-".repeat(24), "-".repeat(46));
    row(out, "clients (closed loop)", Integer.toString(concurrency));
    row(out, "measured window", String.format("%.1f s", r.elapsedS()));
    row(out, "transfers answered", total + " (" + r.measured() + " in the window)");
    row(out, "throughput", String.format("%.0f transfers/s (%.0f committed/s)", r.measured() / r.elapsedS(),
        r.measuredCommitted() / r.elapsedS()));
    row(out, "committed", Integer.toString(r.committed()));
    row(out, "aborted", r.aborted() + (r.abortReasons().isEmpty() ? "" : " " + r.abortReasons()));
    row(out, "outcome unknown", Integer.toString(r.unknown()));
    row(out, "rejected (503)", Integer.toString(r.rejected()));
    row(out, "failed (no answer)", Integer.toString(r.failed()));
    row(out, "latency p50", ms(h.getValueAtPercentile(50)));
    row(out, "latency p99", ms(h.getValueAtPercentile(99)));
    row(out, "latency p99.9", ms(h.getValueAtPercentile(99.9)));
    row(out, "latency max", ms(h.getMaxValue()));
    row(out, "quiescence after run", String.format("%.1f s (inDoubt 0 at every bank)", quiesceS));
    for (BankTotals t : after.values()) {
      BankTotals b = before.get(t.bank());
      row(out, t.bank() + " total", (b == null ? "?" : b.totalBalance()) + " -> " + t.totalBalance());
    }
    long sumBefore = Audit.sum(before);
    long sumAfter = Audit.sum(after);
    boolean totalOk = sumBefore == sumAfter;
    row(out, "sum of all balances", sumBefore + " -> " + sumAfter + (totalOk ? "  OK" : "  CHANGED"));
    row(out, "ledger: committed", ledger.committed() + " in both banks");
    row(out, "ledger: aborted", ledger.aborted() + " in neither bank");
    if (r.unknown() > 0) {
      row(out, "ledger: unknown", ledger.unknownCommitted() + " committed, " + ledger.unknownAborted() + " aborted");
    }
    row(out, "ledger problems", Integer.toString(ledger.problemCount()));
    for (String p : ledger.problems()) out.println("  problem: " + p);
    boolean ok = totalOk && ledger.ok();
    out.println();
    out.println(ok ? "AUDIT OK" : "AUDIT FAILED");
    return ok;
  }

  private static void row(PrintStream out, String k, String v) {
    out.printf("| %-22s | %-44s |%n", k, v);
  }

  private static String ms(long micros) {
    return String.format("%.1f ms", micros / 1000.0);
  }

  private CommandLine.ParameterException bad(String message) {
    return new CommandLine.ParameterException(spec.commandLine(), message);
  }
}

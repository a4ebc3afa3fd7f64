package dev.duet.bank.chaos;

import dev.duet.bank.load.Audit;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code java -jar demo-bank.jar chaos --seconds 120 --seed 7}: its own coordinator, two banks and
 * transfer service as child processes, a proxy in front of each bank, random transfers, and a
 * seeded nemesis killing processes and breaking the network. Then it heals everything, waits for
 * recovery, checks the invariants and prints a report. Exit 0 only if nothing was violated.
 */
@Command(name = "chaos", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Transfers under crashes and network faults, then a full audit. Exits 1 on any violation.")
public final class ChaosCommand implements Callable<Integer> {
  static final int ACCOUNTS = 200;
  static final long INITIAL_BALANCE = 100_000;
  static final long AMOUNT_MAX = 1_000;

  @Spec
  CommandLine.Model.CommandSpec spec;

  @Option(names = "--seconds", defaultValue = "120", description = "How long faults are injected. Default: ${DEFAULT-VALUE}")
  int seconds;

  @Option(names = "--seed", description = "Seed of the fault plan and the transfers. Default: time based (printed)")
  Long seed;

  @Option(names = "--concurrency", defaultValue = "8", description = "Clients sending transfers. Default: ${DEFAULT-VALUE}")
  int concurrency;

  @Option(names = "--data-dir", defaultValue = "data/chaos",
      description = "Where each run gets a directory of its own (databases, logs). Default: ${DEFAULT-VALUE}")
  Path dataDir;

  @Option(names = "--coordinator-jar", defaultValue = "${env:DUET_COORDINATOR_JAR}",
      description = "The coordinator's jar. Default: coordinator/target/coordinator.jar next to this jar's module")
  Path coordinatorJar;

  @Option(names = "--recovery-timeout-s", defaultValue = "120",
      description = "How long recovery may take after the faults stop. Default: ${DEFAULT-VALUE}")
  int recoveryTimeoutS;

  @Option(names = "--keep", description = "Keep the run's directory even when the run passes")
  boolean keep;

  @Option(names = "--plan-only", description = "Print the faults the seed gives, run nothing")
  boolean planOnly;

  @Override
  public Integer call() throws Exception {
    if (seconds < 5 || seconds > 86_400) throw bad("--seconds must be 5..86400");
    if (concurrency < 1 || concurrency > Traffic.LANES_MAX) throw bad("--concurrency must be 1.." + Traffic.LANES_MAX);
    if (recoveryTimeoutS < 10 || recoveryTimeoutS > 3_600) throw bad("--recovery-timeout-s must be 10..3600");
    long s = seed != null ? seed : System.currentTimeMillis();
    PrintStream out = System.out;
    List<Nemesis.Fault> plan = Nemesis.plan(s, seconds);
    if (planOnly) {
      out.printf("fault plan of seed %d for %d s (%d faults):%n", s, seconds, plan.size());
      plan.forEach(f -> out.println("  " + f));
      return 0;
    }
    List<String> coordinatorCommand = coordinatorCommand();
    Path dir = dataDir.resolve("run-" + s + "-" + System.currentTimeMillis()).toAbsolutePath();
    Files.createDirectories(dir);
    out.printf("chaos run: seed %d, %d s, %d clients, %d faults planned; data and logs in %s%n", s, seconds,
        concurrency, plan.size(), dir);
    Cluster.Options options = new Cluster.Options(dir, coordinatorCommand,
        Cluster.jvm(List.of("-cp", System.getProperty("java.class.path"), dev.duet.bank.Main.class.getName())),
        null, true, s, ACCOUNTS, INITIAL_BALANCE, 5_000, 500);
    boolean ok;
    try (Cluster cluster = Cluster.start(options)) {
      // Ctrl-C must not leave four JVMs behind.
      Thread cleanup = new Thread(cluster::close, "chaos-cleanup");
      Runtime.getRuntime().addShutdownHook(cleanup);
      out.printf("started: coordinator %s, banks %s (behind proxies %s), transfers %s%n", cluster.coordinator.url(),
          cluster.bankUrls(), cluster.proxies.values().stream().map(p -> p.port()).toList(), cluster.transfers().url());
      ok = run(out, cluster, plan, s);
      Runtime.getRuntime().removeShutdownHook(cleanup);
    }
    if (ok && !keep) {
      deleteTree(dir);
    } else {
      out.println("run directory kept: " + dir + " (logs in " + dir.resolve("logs") + ")");
    }
    return ok ? 0 : 1;
  }

  private boolean run(PrintStream out, Cluster cluster, List<Nemesis.Fault> plan, long s) throws Exception {
    long start = System.nanoTime();
    Nemesis nemesis = new Nemesis(cluster, out);
    Traffic traffic = new Traffic(cluster.transfers().url(), Cluster.BANKS, ACCOUNTS, AMOUNT_MAX, concurrency, s).start();
    Thread stopper = new Thread(() -> {
      try {
        Thread.sleep(seconds * 1000L);
      } catch (InterruptedException e) {
        return;
      }
      nemesis.stop();
    }, "chaos-timer");
    stopper.setDaemon(true);
    stopper.start();
    out.println("faults:");
    nemesis.run(plan, start);
    long remaining = seconds * 1000L - (System.nanoTime() - start) / 1_000_000;
    if (remaining > 0) Thread.sleep(remaining);
    out.println("healing everything; traffic stops");
    long healedNanos = System.nanoTime();
    nemesis.healAll();
    traffic.stop();
    long checkNanos = System.nanoTime();
    Invariants.Result r = Invariants.check(cluster.coordinator.url(), cluster.bankUrls(), cluster.expectedTotal(),
        (long) ACCOUNTS * INITIAL_BALANCE, traffic.sent(), List.of(), Duration.ofSeconds(recoveryTimeoutS));
    nemesis.reviveUnexpected(); // a process that died during recovery is a finding too
    List<String> violations = new ArrayList<>(nemesis.violations());
    violations.addAll(r.violations());
    long recoverMs = (checkNanos - healedNanos) / 1_000_000 + r.recoverMs();
    report(out, s, traffic, nemesis, plan.size(), r, recoverMs, (System.nanoTime() - healedNanos) / 1_000_000, violations);
    return violations.isEmpty();
  }

  /**
   * @param recoverMs from the heal until the coordinator and the banks settled (processes restarted,
   *     in-flight transfers answered, in-doubt branches resolved)
   */
  static void report(PrintStream out, long seed, Traffic t, Nemesis n, int planned, Invariants.Result r, long recoverMs,
      long sinceHealMs, List<String> violations) {
    out.println();
    out.printf("| %-30s | %-50s |%n", "chaos report (seed " + seed + ")", "");
    out.printf("|%s|%s|%n", "-".repeat(32), "-".repeat(52));
    row(out, "transfers attempted", Integer.toString(t.attempted.get()));
    row(out, "  committed", Integer.toString(t.committed.get()));
    row(out, "  aborted", Integer.toString(t.aborted.get()));
    for (Map.Entry<String, Integer> e : t.abortReasons.entrySet()) row(out, "    " + e.getKey(), e.getValue().toString());
    row(out, "  unknown to the client", t.unknown.get() + " (with a txId, outcome not told)");
    row(out, "  no answer / refused", t.noAnswer.get() + " (no txId: before begin, or no reply)");
    Audit.LedgerCheck l = r.ledger();
    if (l != null) {
      row(out, "  unknown, found committed", Integer.toString(l.unknownCommitted()));
      row(out, "  unknown, found aborted", Integer.toString(l.unknownAborted()));
    }
    row(out, "transactions in the ledgers", Integer.toString(r.ledgerTransactions()));
    List<Nemesis.Injected> injected = n.injected();
    row(out, "faults injected", injected.size() + " of " + planned + " planned");
    for (Map.Entry<String, Integer> e : n.countsByKind().entrySet()) row(out, "  " + e.getKey(), e.getValue().toString());
    long fired = injected.stream().filter(i -> i.note().startsWith("crashed")).count();
    row(out, "  failpoint crashes that fired", Long.toString(fired));
    row(out, "time to recover", String.format("%.1f s (heal -> nothing unfinished, in doubt)", recoverMs / 1000.0));
    row(out, "time from heal to verdict", String.format("%.1f s", sinceHealMs / 1000.0));
    if (r.totals() != null) {
      row(out, "sum of all balances", Long.toString(Audit.sum(r.totals())));
      for (Audit.BankTotals b : r.totals().values()) {
        row(out, "  " + b.bank(), b.totalBalance() + " (inDoubt " + b.inDoubt() + ", ledger rows " + b.ledgerCount() + ")");
      }
    }
    row(out, "violations", Integer.toString(violations.size()));
    for (String v : violations) out.println("  VIOLATION: " + v);
    out.println();
    out.println(violations.isEmpty() ? "CHAOS OK" : "CHAOS FAILED");
  }

  private static void row(PrintStream out, String k, String v) {
    out.printf("| %-30s | %-50s |%n", k, v);
  }

  /** The jar if one is given or found; on a classpath that holds the coordinator (tests), that. */
  private List<String> coordinatorCommand() {
    Path jar = coordinatorJar;
    if (jar == null) {
      try {
        Path self = Path.of(ChaosCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        // demo-bank/target/demo-bank.jar → coordinator/target/coordinator.jar
        Path guess = self.getParent() == null || self.getParent().getParent() == null ? null
            : self.getParent().getParent().resolveSibling("coordinator").resolve("target").resolve("coordinator.jar");
        if (guess != null && Files.isRegularFile(guess)) jar = guess;
      } catch (Exception ignored) {
        // no code source: fall through to the classpath or the error below
      }
    }
    if (jar != null) {
      if (!Files.isRegularFile(jar)) throw bad("--coordinator-jar " + jar + " is not a file; build it with ./mvnw -B -DskipTests package");
      return Cluster.jvm(List.of("-jar", jar.toAbsolutePath().toString()));
    }
    try {
      Class.forName("dev.duet.coordinator.Main");
      return Cluster.jvm(List.of("-cp", System.getProperty("java.class.path"), "dev.duet.coordinator.Main"));
    } catch (ClassNotFoundException e) {
      throw bad("cannot find the coordinator: pass --coordinator-jar (build it with ./mvnw -B -DskipTests package)");
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
    }
  }

  private CommandLine.ParameterException bad(String message) {
    return new CommandLine.ParameterException(spec.commandLine(), message);
  }
}

package dev.duet.benchmark;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.HdrHistogram.Histogram;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Runs one cell (one system, one database pair, one concurrency) in this JVM, from fresh databases to torn-down
 * system, and prints one {@link CellResult} line on stdout. Meant to be started by {@link Bench} in a fresh JVM per
 * cell: JIT state, connection pools, transaction-manager singletons and logs never carry over between cells.
 */
@Command(name = "cell", mixinStandardHelpOptions = true,
        description = "Runs one benchmark cell and prints one RESULT {json} line.")
public final class Cell implements Callable<Integer> {

    private static final Duration SETTLE_POLL = Duration.ofMillis(100);

    @Option(names = "--system", required = true, description = "One of: ${COMPLETION-CANDIDATES}",
            completionCandidates = SystemNames.class)
    String system;

    @Option(names = "--db", required = true, description = "h2 or pg")
    String db;

    @Option(names = "--concurrency", required = true)
    int concurrency;

    @Option(names = "--warmup-seconds", defaultValue = "3")
    int warmupSeconds;

    @Option(names = "--measure-seconds", defaultValue = "7")
    int measureSeconds;

    @Option(names = "--round", defaultValue = "1", description = "Label only: which round of the driver this is.")
    int round;

    @Option(names = "--settle-ms-max", defaultValue = "10000",
            description = "How long the checks may wait for asynchronous phase 2 to finish before the window fails.")
    long settleMsMax;

    @Option(names = "--keep-work-dir", description = "Keep databases and logs for inspection.")
    boolean keepWorkDir;

    static final class SystemNames extends ArrayList<String> {
        SystemNames() {
            super(Systems.names());
        }
    }

    public static void main(String[] args) {
        int code = new CommandLine(new Cell()).execute(args);
        // Transaction managers and embedded servers leave non-daemon threads behind; the cell is over.
        System.exit(code);
    }

    @Override
    public Integer call() {
        if (concurrency < 1 || warmupSeconds < 0 || measureSeconds < 1) {
            throw new CommandLine.ParameterException(new CommandLine(this),
                    "need concurrency >= 1, warmup-seconds >= 0, measure-seconds >= 1");
        }
        CellResult result;
        try {
            result = run();
        } catch (Throwable e) {
            e.printStackTrace();
            result = CellResult.error(system, db, concurrency, round, warmupSeconds, measureSeconds, e.toString());
        }
        System.out.println(result.toLine());
        System.out.flush();
        return 0;
    }

    /** Runs the cell; exposed for the in-JVM test, which needs no fresh JVM for correctness. */
    CellResult run() throws Exception {
        Path workDir = Files.createTempDirectory("duet-bench-" + system + "-" + db + "-");
        try {
            return runIn(workDir);
        } finally {
            if (!keepWorkDir) {
                deleteRecursively(workDir);
            }
        }
    }

    private CellResult runIn(Path workDir) throws Exception {
        long setupStart = System.nanoTime();
        TransferSystem sys = Systems.create(system, concurrency);
        // The system stops before the databases close: its pools and processes must not outlive the servers.
        try (DatabasePair dbs = DatabasePair.open(db, workDir)) {
            String dbVersion = dbs.serverVersion();
            var dbSettings = dbs.settings();
            boolean stopped = false;
            try {
                sys.setUp(dbs);
                List<String> checks = new ArrayList<>();
                boolean checksOk = true;
                long failures = 0;
                long setupMs;
                long committedAmount;
                LoadRunner.Window w;
                try (LoadRunner runner = new LoadRunner(sys, concurrency)) {
                    setupMs = (System.nanoTime() - setupStart) / 1_000_000;
                    if (warmupSeconds > 0) {
                        LoadRunner.Window warm = runner.run(Duration.ofSeconds(warmupSeconds));
                        failures += warm.failures();
                        checksOk &= settleAndCheck(amount -> sys.check(dbs, amount), runner.committedAmount(),
                                settleMsMax, "after warm-up", checks);
                    }
                    w = runner.run(Duration.ofSeconds(measureSeconds));
                    failures += w.failures();
                    committedAmount = runner.committedAmount();
                    checksOk &= settleAndCheck(amount -> sys.check(dbs, amount), committedAmount, settleMsMax,
                            "after measured window", checks);
                }
                stopped = true;
                long stopStart = System.nanoTime();
                sys.tearDown();
                System.err.printf("cell: setup %d ms, teardown %d ms%n", setupMs,
                        (System.nanoTime() - stopStart) / 1_000_000);
                // Once more with the system gone, straight from the databases: what a user finds afterwards.
                checksOk &= settleAndCheck(dbs::check, committedAmount, 0, "after the system stopped", checks);
                if (w.committed() == 0) {
                    checks.add("measured window: FAILED: no transfer committed");
                    checksOk = false;
                }
                Histogram h = w.latencyUs();
                return new CellResult(system, db, concurrency, round, warmupSeconds, measureSeconds,
                        checksOk ? CellResult.OK : CellResult.CHECK_FAILED,
                        w.committed(), w.aborted(), failures, w.elapsedNanos() / 1_000_000,
                        w.transfersPerSecond(),
                        ms(h.getValueAtPercentile(50)), ms(h.getValueAtPercentile(99)),
                        ms(h.getValueAtPercentile(99.9)), ms(h.getMaxValue()),
                        CellResult.encode(h), checks, w.failureSamples(), null, sys.logDescription(), dbVersion,
                        dbSettings, setupMs);
            } finally {
                if (!stopped) {
                    sys.tearDown();
                }
            }
        }
    }

    /** One run of the money checks against a given committed amount. */
    interface Checker {
        DatabasePair.CheckResult check(long committedAmount) throws Exception;
    }

    /**
     * Runs the money checks once the system is idle, polling for up to {@code settleMsMax} because a system may
     * finish phase 2 after it has answered "committed". Records the outcome and how long it took to settle.
     */
    static boolean settleAndCheck(Checker checker, long committedAmount, long settleMsMax, String when,
            List<String> checks) throws Exception {
        long start = System.nanoTime();
        long deadline = start + settleMsMax * 1_000_000;
        int attempts = 0;
        while (true) {
            attempts++;
            DatabasePair.CheckResult r = checker.check(committedAmount);
            long ms = (System.nanoTime() - start) / 1_000_000;
            if (r.ok()) {
                checks.add(when + ": ok" + (attempts > 1 ? " (settled after " + ms + " ms)" : ""));
                return true;
            }
            if (System.nanoTime() > deadline) {
                checks.add(when + ": FAILED after waiting " + ms + " ms: " + r.summary());
                return false;
            }
            Thread.sleep(SETTLE_POLL.toMillis());
        }
    }

    private static double ms(long micros) {
        return micros / 1_000.0;
    }

    static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        Files.walkFileTree(dir, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.deleteIfExists(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                Files.deleteIfExists(d);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}

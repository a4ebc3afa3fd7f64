package dev.duet.benchmark;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The driver: runs the matrix (systems × database pairs × concurrency × rounds), each cell as a child JVM running
 * {@link Cell}, then writes the markdown table and the SVG chart.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Runs the Duet/Atomikos/Narayana/baseline transfer benchmark matrix and writes the report.")
public final class Bench implements Callable<Integer> {

    /** PostgreSQL is started with this many prepared-transaction slots; more clients could run out of them. */
    static final int CONCURRENCY_MAX = PostgresPair.MAX_PREPARED_TRANSACTIONS;
    /** Time a cell may spend beyond its windows: JVM start, initdb of two servers, seeding, checks, teardown. */
    static final int CELL_OVERHEAD_SECONDS_MAX = 180;
    /** What a cell typically spends beyond its windows on 2 cores; only used for the up-front estimate. */
    static final int CELL_OVERHEAD_SECONDS_TYPICAL = 6;
    /** Duet's cells start and stop four more JVMs. */
    static final int DUET_CELL_OVERHEAD_SECONDS_EXTRA = 10;
    static final int STDERR_TAIL_LINES = 15;

    @Option(names = "--systems", split = ",", description = "Systems to run (default: ${DEFAULT-VALUE}). \"canary\""
            + " is a deliberately broken system whose cells must come out FAILED: it proves the checks work."
            + " \"xa-floor\" is both banks' XA calls with no manager and no log: the floor under any XA manager.")
    List<String> systems = new ArrayList<>(Systems.names());

    @Option(names = "--dbs", split = ",", description = "Database pairs: h2, pg (default: ${DEFAULT-VALUE}).")
    List<String> dbs = new ArrayList<>(DatabasePair.KINDS);

    @Option(names = "--concurrency", split = ",", description = "Closed-loop clients per cell (default: ${DEFAULT-VALUE}).")
    List<Integer> concurrency = new ArrayList<>(List.of(1, 8, 32));

    @Option(names = "--warmup-seconds", defaultValue = "2", description = "Warm-up per cell (default: ${DEFAULT-VALUE}).")
    int warmupSeconds;

    @Option(names = "--measure-seconds", defaultValue = "5", description = "Measured window per cell (default: ${DEFAULT-VALUE}).")
    int measureSeconds;

    @Option(names = "--rounds", defaultValue = "2", description = "Rounds over the whole matrix (default: ${DEFAULT-VALUE}).")
    int rounds;

    @Option(names = "--out", defaultValue = "docs",
            description = "Directory for benchmark-results.md and benchmark-throughput.svg (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--jvm-arg", description = "JVM option for each cell's JVM; repeatable (default: -Xmx1g).")
    List<String> jvmArgs = new ArrayList<>(List.of("-Xmx1g"));

    private volatile Process current;
    /** initdb's output, made once per run and copied by every PostgreSQL cell. */
    private Path pgTemplate;

    public static void main(String[] args) {
        System.exit(new CommandLine(new Bench()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        validate();
        String started = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
        String loadBefore = MachineInfo.loadAverage();
        List<Cells> plan = plan();
        long estimateSeconds = plan.size() * (long) (warmupSeconds + measureSeconds + CELL_OVERHEAD_SECONDS_TYPICAL)
                + plan.stream().filter(c -> c.system().equals("duet")).count() * DUET_CELL_OVERHEAD_SECONDS_EXTRA;
        System.err.printf("%d cells, roughly %d min; load average now %s%n", plan.size(), (estimateSeconds + 59) / 60,
                loadBefore);
        Path logs = Files.createTempDirectory("duet-bench-logs-");
        Runtime.getRuntime().addShutdownHook(new Thread(this::killCurrent));
        if (dbs.contains("pg")) {
            pgTemplate = logs.resolve("pg-template");
            PostgresPair.createTemplate(pgTemplate);
        }

        List<CellResult> results = new ArrayList<>();
        for (int i = 0; i < plan.size(); i++) {
            Cells c = plan.get(i);
            CellResult r = runCell(c, logs.resolve(String.format("%03d-%s-%s-c%d-r%d.log", i + 1, c.system(), c.db(),
                    c.concurrency(), c.round())));
            results.add(r);
            System.err.printf("[%d/%d] round %d %s c=%d %-9s %s%n", i + 1, plan.size(), c.round(), c.db(),
                    c.concurrency(), c.system(), r.ok()
                            ? String.format(java.util.Locale.ROOT, "%.0f transfers/s, p99 %.2f ms, checks ok",
                                    r.transfersPerSecond(), r.p99Ms())
                            : r.status() + ": " + (r.error() != null ? r.error() : r.checks()));
        }

        List<Aggregate> cells = Aggregate.of(results).stream()
                .sorted(Aggregate.order(systems, dbs)).toList();
        var run = new MarkdownReport.RunInfo(commandLine(), started,
                Instant.now().truncatedTo(ChronoUnit.SECONDS).toString(), systems, dbs, concurrency, warmupSeconds,
                measureSeconds, rounds, loadBefore, MachineInfo.loadAverage(), jvmArgs);
        Files.createDirectories(out);
        String chartFile = "benchmark-throughput.svg";
        Files.writeString(out.resolve("benchmark-results.md"), MarkdownReport.render(run, cells, results, chartFile),
                StandardCharsets.UTF_8);
        String footnote = MachineInfo.collect().get("CPU") + ", " + Runtime.getRuntime().availableProcessors()
                + " cores; median of " + rounds + " round(s), " + measureSeconds + " s windows; higher is better";
        Files.writeString(out.resolve(chartFile), SvgChart.render(cells, systems, dbs, concurrency,
                "Committed transfers/s by concurrency", footnote), StandardCharsets.UTF_8);
        System.err.println("wrote " + out.resolve("benchmark-results.md") + " and " + out.resolve(chartFile)
                + "; cell logs in " + logs);
        return cells.stream().allMatch(Aggregate::ok) ? 0 : 1;
    }

    private void validate() {
        CommandLine cmd = new CommandLine(this);
        for (String s : systems) {
            if (!Systems.known(s)) {
                throw new CommandLine.ParameterException(cmd, "unknown system '" + s + "'; known: " + Systems.names()
                        + ", the check canary " + Systems.canaryNames() + " and the reference " + Systems.referenceNames());
            }
        }
        for (String d : dbs) {
            if (!DatabasePair.KINDS.contains(d)) {
                throw new CommandLine.ParameterException(cmd, "unknown db '" + d + "'; known: " + DatabasePair.KINDS);
            }
        }
        for (int c : concurrency) {
            if (c < 1 || c > CONCURRENCY_MAX) {
                throw new CommandLine.ParameterException(cmd, "concurrency must be 1.." + CONCURRENCY_MAX + ": " + c);
            }
        }
        if (warmupSeconds < 0 || measureSeconds < 1 || rounds < 1) {
            throw new CommandLine.ParameterException(cmd, "need warmup-seconds >= 0, measure-seconds >= 1, rounds >= 1");
        }
    }

    record Cells(int round, String db, int concurrency, String system) {}

    /**
     * Round by round, every cell of the matrix once; within a (database, concurrency) group the systems take turns,
     * and the order rotates by one each round so no system always runs first (on a cold machine) or last.
     */
    List<Cells> plan() {
        List<Cells> plan = new ArrayList<>();
        for (int round = 1; round <= rounds; round++) {
            for (String db : dbs) {
                for (int c : concurrency) {
                    for (int k = 0; k < systems.size(); k++) {
                        plan.add(new Cells(round, db, c, systems.get((k + round - 1) % systems.size())));
                    }
                }
            }
        }
        return plan;
    }

    private CellResult runCell(Cells c, Path log) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmArgs);
        if (pgTemplate != null) {
            cmd.add("-D" + PostgresPair.TEMPLATE_PROPERTY + "=" + pgTemplate);
        }
        String root = System.getProperty(DuetSystem.ROOT_PROPERTY);
        if (root != null) {
            cmd.add("-D" + DuetSystem.ROOT_PROPERTY + "=" + root);
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Cell.class.getName(),
                "--system", c.system(), "--db", c.db(), "--concurrency", Integer.toString(c.concurrency()),
                "--warmup-seconds", Integer.toString(warmupSeconds),
                "--measure-seconds", Integer.toString(measureSeconds), "--round", Integer.toString(c.round())));
        Path stdout = Files.createTempFile("duet-bench-cell-", ".out");
        try {
            Process p = new ProcessBuilder(cmd).redirectOutput(stdout.toFile()).redirectError(log.toFile()).start();
            current = p;
            boolean finished = p.waitFor(warmupSeconds + measureSeconds + CELL_OVERHEAD_SECONDS_MAX, TimeUnit.SECONDS);
            current = null;
            if (!finished) {
                killTree(p);
                return CellResult.error(c.system(), c.db(), c.concurrency(), c.round(), warmupSeconds, measureSeconds,
                        "cell did not finish within " + (warmupSeconds + measureSeconds + CELL_OVERHEAD_SECONDS_MAX)
                                + " s; killed (log: " + log + ")");
            }
            for (String line : Files.readAllLines(stdout)) {
                if (line.startsWith(CellResult.LINE_PREFIX)) {
                    return CellResult.fromLine(line);
                }
            }
            return CellResult.error(c.system(), c.db(), c.concurrency(), c.round(), warmupSeconds, measureSeconds,
                    "cell exited with " + p.exitValue() + " and no result; stderr tail: " + tail(log));
        } finally {
            Files.deleteIfExists(stdout);
        }
    }

    /** The cell's PostgreSQL servers are its descendants: they go first, then the cell itself. */
    private static void killTree(Process p) throws InterruptedException {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        p.waitFor(10, TimeUnit.SECONDS);
    }

    private void killCurrent() {
        Process p = current;
        if (p != null && p.isAlive()) {
            try {
                killTree(p);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join(" | ", lines.subList(Math.max(0, lines.size() - STDERR_TAIL_LINES), lines.size()));
        } catch (IOException e) {
            return "(no log)";
        }
    }

    private String commandLine() {
        return "Bench --systems " + String.join(",", systems) + " --dbs " + String.join(",", dbs)
                + " --concurrency " + String.join(",", concurrency.stream().map(String::valueOf).toList())
                + " --warmup-seconds " + warmupSeconds + " --measure-seconds " + measureSeconds
                + " --rounds " + rounds;
    }
}

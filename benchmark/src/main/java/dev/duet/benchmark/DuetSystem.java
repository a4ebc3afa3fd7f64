package dev.duet.benchmark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * Duet, the demo bank's full path: this JVM is only the client. It starts four OS processes – the coordinator
 * ({@code coordinator.jar}, decision log fsync on, its default), two {@code bank} services and the
 * {@code transfers} service (all from {@code demo-bank.jar}, as {@code bin/demo} starts them) – and each
 * {@link #transfer} is one {@code POST /transfers} over loopback HTTP. The transfer service then begins a
 * transaction at the coordinator, debits bank A and credits bank B (each bank joins the transaction and runs its SQL
 * in an XA branch of its own database) and commits: the coordinator prepares both banks over HTTP, logs COMMIT,
 * and commits both.
 *
 * <p>The banks work on the cell's two databases: on PostgreSQL through {@code --db-url} to the pair's two servers;
 * on H2 the bank process owns its file (H2 opens a file in one process at a time), so the pair hands over its files
 * and, while the processes run, the money checks ask the banks' {@code GET /audit}; once they stopped, the harness
 * reads the files directly.
 */
public final class DuetSystem implements TransferSystem {

    /** Where the repository is (the jars are under it); bin/bench runs from there. */
    static final String ROOT_PROPERTY = "duet.root";
    static final Path COORDINATOR_JAR = Path.of("coordinator", "target", "coordinator.jar");
    static final Path DEMO_BANK_JAR = Path.of("demo-bank", "target", "demo-bank.jar");
    /**
     * The child JVMs' options, as bin/demo starts them: four JVMs plus the cell's share the machine, and with C2
     * each would spend the first minutes compiling (C1 alone settles in seconds; docs/benchmarks.md).
     */
    static final List<String> CHILD_JVM_ARGS = List.of("-Xmx512m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC");
    /** The signing secret bin/demo uses: calls from the coordinator to the banks are signed, as in the demo. */
    static final String SIGNING_SECRET = "bench-signing-secret-not-for-production";
    /** How long one process may take to answer /health after it was started (JVM start, H2/PG open, seeding). */
    static final Duration STARTUP_WAIT_MAX = Duration.ofSeconds(90);
    static final Duration STARTUP_POLL = Duration.ofMillis(200);
    /** How long a process may take to stop after SIGTERM before it is killed. */
    static final Duration STOP_WAIT_MAX = Duration.ofSeconds(20);
    /** One transfer over HTTP may take this long; well past the transfer service's own 10 s transaction timeout. */
    static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(30);
    /** The demo bank's default SQL workers; raised to the concurrency so the banks get as many connections as the
     * in-process systems' pools. */
    static final int BANK_WORKERS_DEFAULT = 16;
    static final int LOG_TAIL_LINES = 20;
    /** 409 codes of transfers that were refused or rolled back with nothing moved: counted as aborted. */
    static final Set<String> ABORT_CODES = Set.of("INSUFFICIENT_FUNDS", "ACCOUNT_BUSY", "ABORTED");

    private static final ObjectMapper JSON = new ObjectMapper();

    private record Child(String name, Process process, Path log, int port) {}

    private final int concurrency;
    private final List<Child> children = new ArrayList<>();
    private final Map<Bank, Integer> bankPorts = new EnumMap<>(Bank.class);
    private H2Pair h2;
    private HttpClient http;
    private ExecutorService httpExecutor;
    private URI transfersUri;
    private Thread killOnExit;

    public DuetSystem(int concurrency) {
        this.concurrency = concurrency;
    }

    @Override
    public String name() {
        return "duet";
    }

    @Override
    public String logDescription() {
        return "Coordinator decision log (coordinator/.../log/LogWriter): presumed abort, so begin, enlist and abort"
                + " are never written; one COMMIT record per transfer, appended by one writer thread that writes"
                + " whatever is queued as one batch and fsyncs once per batch holding a COMMIT (group commit: at most 1"
                + " fsync per transfer, fewer under concurrency); the END record after phase 2 is not forced. Each"
                + " bank runs its debit or credit in an XA branch of its own database – INSERT of a ledger row plus"
                + " the balance UPDATE, so 2 statements per bank where the others run 1 – then XA PREPARE and COMMIT"
                + " (PostgreSQL: PREPARE TRANSACTION and COMMIT PREPARED, a WAL flush each; H2: written with"
                + " WRITE_DELAY=0, never fsynced). The transfer service also INSERTs one row per transfer into its own"
                + " H2 file (WRITE_DELAY=0, no fsync). Every step is an HTTP call on loopback between 4 processes:"
                + " client → transfers → coordinator begin, bank A debit and bank B credit (each bank enlists at the"
                + " coordinator), coordinator commit → prepare ×2, commit ×2. Calls to the banks are signed (HMAC).";
    }

    @Override
    public void setUp(DatabasePair dbs) throws Exception {
        Path root = Path.of(System.getProperty(ROOT_PROPERTY, ".")).toAbsolutePath().normalize();
        Path coordinatorJar = requireJar(root.resolve(COORDINATOR_JAR));
        Path bankJar = requireJar(root.resolve(DEMO_BANK_JAR));
        Path base = Files.createDirectories(dbs.workDir().resolve("duet"));
        Path logs = Files.createDirectories(base.resolve("logs"));
        killOnExit = new Thread(this::killAll, "duet-children-kill");
        Runtime.getRuntime().addShutdownHook(killOnExit);

        int coordinatorPort = freePort();
        String coordinatorUrl = "http://127.0.0.1:" + coordinatorPort;
        // All four start at once (none calls another while it boots), which saves three JVM start-ups per cell.
        start("coordinator", coordinatorPort, logs, java(coordinatorJar, "--port", Integer.toString(coordinatorPort),
                "--data-dir", base.resolve("coordinator").toString(), "--signing-secret", SIGNING_SECRET));

        Map<Bank, Path> h2Dirs = null;
        if (dbs instanceof H2Pair pair) {
            h2 = pair;
            h2Dirs = pair.releaseTo();
        }
        for (Bank bank : Bank.values()) {
            int port = freePort();
            bankPorts.put(bank, port);
            List<String> cmd = java(bankJar, "bank", "--name", bank.lowerName(), "--port", Integer.toString(port),
                    "--coordinator", coordinatorUrl, "--signing-secret", SIGNING_SECRET,
                    "--accounts", Integer.toString(Workload.ACCOUNTS),
                    "--initial-balance", Long.toString(Workload.INITIAL_BALANCE),
                    "--workers", Integer.toString(Math.max(BANK_WORKERS_DEFAULT, concurrency)));
            if (h2Dirs != null) {
                cmd.addAll(List.of("--data-dir", h2Dirs.get(bank).toString()));
            } else {
                cmd.addAll(List.of("--data-dir", base.resolve(bank.lowerName()).toString(),
                        "--db-url", dbs.externalJdbcUrl(bank) + "?user=" + dbs.user(),
                        // Each bank has a PostgreSQL server of its own here, so all its prepared slots.
                        "--branches-max", Integer.toString(PostgresPair.MAX_PREPARED_TRANSACTIONS)));
            }
            start(bank.lowerName(), port, logs, cmd);
        }

        int transfersPort = freePort();
        start("transfers", transfersPort, logs, java(bankJar, "transfers", "--port", Integer.toString(transfersPort),
                "--data-dir", base.resolve("transfers").toString(), "--coordinator", coordinatorUrl,
                "--bank", Bank.A.lowerName() + "=http://127.0.0.1:" + bankPorts.get(Bank.A),
                "--bank", Bank.B.lowerName() + "=http://127.0.0.1:" + bankPorts.get(Bank.B)));
        long t0 = System.nanoTime();
        for (Child c : children) {
            awaitHealthy(c);
        }
        System.err.printf("duet: 4 processes healthy after %d ms%n", (System.nanoTime() - t0) / 1_000_000);
        transfersUri = URI.create("http://127.0.0.1:" + transfersPort + "/transfers");

        // One HTTP/1.1 connection per client thread: the JDK client keeps up to this many idle ones for reuse.
        System.setProperty("jdk.httpclient.connectionPoolSize", Integer.toString(concurrency));
        httpExecutor = Executors.newFixedThreadPool(Math.max(2, Math.min(concurrency, 8)), r -> {
            Thread t = new Thread(r, "duet-http");
            t.setDaemon(true);
            return t;
        });
        http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).executor(httpExecutor)
                .connectTimeout(Duration.ofSeconds(5)).build();
    }

    @Override
    public boolean transfer(long fromId, long toId, long amount) throws Exception {
        String body = "{\"from\":{\"bank\":\"" + Bank.A.lowerName() + "\",\"account\":" + fromId + "},"
                + "\"to\":{\"bank\":\"" + Bank.B.lowerName() + "\",\"account\":" + toId + "},\"amount\":" + amount
                + "}";
        HttpRequest req = HttpRequest.newBuilder(transfersUri).timeout(REQUEST_TIMEOUT)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
        HttpResponse<String> r = http.send(req, HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 201) {
            return true;
        }
        String code = errorCode(r.body());
        if (r.statusCode() == 409 && ABORT_CODES.contains(code)) {
            return false;
        }
        // Anything else (a bank unavailable, an unknown outcome, overload) is a failure the report shows.
        throw new IllegalStateException("POST /transfers: HTTP " + r.statusCode() + " " + abbreviate(r.body()));
    }

    /**
     * While the processes run: on PostgreSQL the databases are read directly; on H2 only the banks can read their
     * files, so their {@code GET /audit} gives the totals and the in-doubt branches. Either way the banks' ledgers
     * must show the committed amount too, and no process may have died.
     */
    @Override
    public DatabasePair.CheckResult check(DatabasePair dbs, long committedAmount) throws Exception {
        List<String> problems = new ArrayList<>();
        for (Child c : children) {
            if (!c.process().isAlive()) {
                problems.add(c.name() + " exited with " + c.process().exitValue() + "; log tail: " + tail(c.log()));
            }
        }
        if (!problems.isEmpty()) {
            return new DatabasePair.CheckResult(false, problems);
        }
        if (h2 == null) {
            problems.addAll(dbs.check(committedAmount).problems());
        }
        long bankTotal = Workload.ACCOUNTS * Workload.INITIAL_BALANCE;
        Map<Bank, JsonNode> audits = new EnumMap<>(Bank.class);
        for (Bank bank : Bank.values()) {
            audits.put(bank, audit(bank));
        }
        JsonNode a = audits.get(Bank.A);
        JsonNode b = audits.get(Bank.B);
        if (h2 != null) {
            if (a.path("accounts").asLong() != Workload.ACCOUNTS || b.path("accounts").asLong() != Workload.ACCOUNTS) {
                problems.add("account count changed: A=" + a.path("accounts") + " B=" + b.path("accounts"));
            }
            long sumA = a.path("totalBalance").asLong();
            long sumB = b.path("totalBalance").asLong();
            if (sumA + sumB != 2 * bankTotal) {
                problems.add("total money changed by " + (sumA + sumB - 2 * bankTotal));
            }
            if (sumA != bankTotal - committedAmount) {
                problems.add("bank A moved " + (bankTotal - sumA) + " out, committed " + committedAmount);
            }
            if (sumB != bankTotal + committedAmount) {
                problems.add("bank B moved " + (sumB - bankTotal) + " in, committed " + committedAmount);
            }
        }
        for (Bank bank : Bank.values()) {
            long inDoubt = audits.get(bank).path("inDoubt").asLong(-1);
            if (inDoubt != 0) {
                problems.add("bank " + bank + " reports " + inDoubt + " branch(es) in doubt (prepared, undecided)");
            }
        }
        long ledgerA = a.path("ledger").path("sum").asLong();
        long ledgerB = b.path("ledger").path("sum").asLong();
        if (ledgerA != -committedAmount || ledgerB != committedAmount) {
            problems.add("ledgers disagree with the committed amount " + committedAmount + ": A " + ledgerA + ", B "
                    + ledgerB);
        }
        return new DatabasePair.CheckResult(problems.isEmpty(), List.copyOf(problems));
    }

    /** Stops the transfer service, the banks, then the coordinator, each with SIGTERM (a clean shutdown). */
    @Override
    public void tearDown() throws Exception {
        if (httpExecutor != null) {
            httpExecutor.shutdownNow();
        }
        List<Child> reversed = new ArrayList<>(children);
        java.util.Collections.reverse(reversed);
        for (Child c : reversed) {
            long t0 = System.nanoTime();
            stop(c);
            System.err.printf("duet: %s stopped in %d ms%n", c.name(), (System.nanoTime() - t0) / 1_000_000);
        }
        children.clear();
        if (killOnExit != null) {
            try {
                Runtime.getRuntime().removeShutdownHook(killOnExit);
            } catch (IllegalStateException e) {
                // The JVM is already shutting down; the hook does the same work.
            }
        }
        if (h2 != null) {
            h2.reclaim();
        }
    }

    private static void stop(Child c) throws InterruptedException {
        Process p = c.process();
        if (!p.isAlive()) {
            System.err.println("duet: " + c.name() + " had exited with " + p.exitValue() + "; log tail: "
                    + tail(c.log()));
            return;
        }
        p.destroy();
        if (!p.waitFor(STOP_WAIT_MAX.toMillis(), TimeUnit.MILLISECONDS)) {
            System.err.println("duet: " + c.name() + " did not stop within " + STOP_WAIT_MAX + "; killing it");
            p.destroyForcibly();
            p.waitFor(STOP_WAIT_MAX.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    private void killAll() {
        for (Child c : children) {
            c.process().destroyForcibly();
        }
    }

    private JsonNode audit(Bank bank) throws Exception {
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + bankPorts.get(bank) + "/audit"))
                .timeout(REQUEST_TIMEOUT).GET().build();
        HttpResponse<String> r = http.send(req, HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IllegalStateException("GET /audit at " + bank.lowerName() + ": HTTP " + r.statusCode() + " "
                    + abbreviate(r.body()));
        }
        return JSON.readTree(r.body());
    }

    private List<String> java(Path jar, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(CHILD_JVM_ARGS);
        cmd.add("-jar");
        cmd.add(jar.toString());
        cmd.addAll(List.of(args));
        return cmd;
    }

    private void start(String name, int port, Path logs, List<String> cmd) throws IOException {
        Path log = logs.resolve(name + ".log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        children.add(new Child(name, p, log, port));
    }

    private void awaitHealthy(Child c) throws Exception {
        HttpClient probe = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + c.port() + "/health"))
                .timeout(Duration.ofSeconds(2)).GET().build();
        long deadline = System.nanoTime() + STARTUP_WAIT_MAX.toNanos();
        while (System.nanoTime() < deadline) {
            if (!c.process().isAlive()) {
                throw new IllegalStateException(c.name() + " exited with " + c.process().exitValue()
                        + " while starting; log tail: " + tail(c.log()));
            }
            try {
                if (probe.send(req, HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return;
                }
            } catch (IOException e) {
                // Not listening yet.
            }
            Thread.sleep(STARTUP_POLL.toMillis());
        }
        throw new IllegalStateException(c.name() + " not healthy within " + STARTUP_WAIT_MAX + "; log tail: "
                + tail(c.log()));
    }

    private static Path requireJar(Path jar) {
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException(jar + " is missing: build it with ./mvnw -B -q -DskipTests package"
                    + " (bin/bench does when it is missing), or run with -D" + ROOT_PROPERTY + "=<repository>");
        }
        return jar;
    }

    /** A port free right now on loopback; another program could take it before the child binds (then it fails). */
    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static String errorCode(String body) {
        try {
            return JSON.readTree(body).path("error").asText(null);
        } catch (IOException e) {
            return null;
        }
    }

    private static String abbreviate(String s) {
        return s == null ? "" : s.length() <= 300 ? s : s.substring(0, 300) + "...";
    }

    static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join(" | ", lines.subList(Math.max(0, lines.size() - LOG_TAIL_LINES), lines.size()));
        } catch (IOException e) {
            return "(no log)";
        }
    }
}

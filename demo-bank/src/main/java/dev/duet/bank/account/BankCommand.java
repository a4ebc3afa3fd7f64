package dev.duet.bank.account;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code java -jar demo-bank.jar bank --name bank-a --port 8081 --data-dir ./data/bank-a}. */
@Command(name = "bank", mixinStandardHelpOptions = true, sortOptions = false,
    description = "A bank: accounts in its own database (H2 file, or PostgreSQL with --db-url), a Duet participant.")
public final class BankCommand implements Callable<Integer> {
  @Spec
  CommandLine.Model.CommandSpec spec;

  @Option(names = "--name", required = true, description = "Participant name, e.g. bank-a (A-Z a-z 0-9 . _ -)")
  String name;

  @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to listen on. Default: ${DEFAULT-VALUE}")
  String host;

  @Option(names = "--port", required = true, description = "HTTP port")
  int port;

  @Option(names = "--advertise-host", defaultValue = "127.0.0.1",
      description = "Host the coordinator reaches this bank at. Default: ${DEFAULT-VALUE}")
  String advertiseHost;

  @Option(names = "--advertise-port",
      description = "Port the coordinator reaches this bank at, e.g. a proxy's. Default: --port")
  Integer advertisePort;

  @Option(names = "--data-dir", description = "Directory of the H2 database (unless --db-url). Default: ./data/<name>")
  Path dataDir;

  @Option(names = "--db-url", description = "PostgreSQL JDBC URL instead of H2, e.g. jdbc:postgresql://127.0.0.1:55432/bank_a?user=postgres")
  String dbUrl;

  @Option(names = "--coordinator", defaultValue = "http://127.0.0.1:7070", description = "Coordinator URL. Default: ${DEFAULT-VALUE}")
  String coordinator;

  @Option(names = "--coordinator-token", defaultValue = "${env:DUET_CLIENT_TOKEN}", description = "Bearer token for the coordinator, if it wants one")
  String coordinatorToken;

  @Option(names = "--signing-secret", defaultValue = "${env:DUET_SIGNING_SECRET}",
      description = "Secret shared with the coordinator (16+ chars); unsigned calls are then refused")
  String signingSecret;

  @Option(names = "--accounts", defaultValue = "1000", description = "Accounts seeded on first start. Default: ${DEFAULT-VALUE}")
  long accounts;

  @Option(names = "--initial-balance", defaultValue = "100000", description = "Balance of each seeded account, in minor units. Default: ${DEFAULT-VALUE}")
  long initialBalance;

  @Option(names = "--workers", defaultValue = "16", description = "Threads (and connections) for SQL work. Default: ${DEFAULT-VALUE}")
  int workers;

  @Option(names = "--recovery-period-ms", defaultValue = "5000", description = "How often in-doubt branches ask the coordinator. Default: ${DEFAULT-VALUE}")
  long recoveryPeriodMs;

  @Option(names = "--branch-timeout-ms", defaultValue = "30000",
      description = "Deadline of an unprepared branch when the coordinator reports none. Default: ${DEFAULT-VALUE}")
  long branchTimeoutMs;

  @Option(names = "--branches-max",
      description = "Transactions active or prepared here at once, each holding a connection. Default: 1024 on H2,"
          + " 48 on PostgreSQL (two banks share the embedded server's max_prepared_transactions of 100)")
  Integer branchesMax;

  @Option(names = "--failpoints", defaultValue = "${env:DUET_FAILPOINTS}",
      description = "Fault injection, e.g. participant.after-prepare=crash*1 (DUET_FAILPOINTS). See docs/fault-injection.md")
  String failpoints;

  @Option(names = "--chaos", defaultValue = "${env:DUET_CHAOS:-false}",
      description = "Serve /admin/failpoints to arm faults at run time (DUET_CHAOS). Never in production.")
  boolean chaos;

  @Override
  public Integer call() throws Exception {
    if (!name.matches("[A-Za-z0-9._-]{1,64}")) throw bad("--name must be 1-64 characters of A-Z a-z 0-9 . _ -");
    if (port < 1 || port > 65535) throw bad("--port must be 1-65535");
    if (accounts < 1 || accounts > 10_000_000) throw bad("--accounts must be 1..10000000");
    if (initialBalance < 0 || initialBalance > dev.duet.bank.web.Money.AMOUNT_MAX) {
      throw bad("--initial-balance must be 0.." + dev.duet.bank.web.Money.AMOUNT_MAX);
    }
    if (workers < 1 || workers > 256) throw bad("--workers must be 1..256");
    if (recoveryPeriodMs < 100 || recoveryPeriodMs > 3_600_000) throw bad("--recovery-period-ms must be 100..3600000");
    if (branchTimeoutMs < 100 || branchTimeoutMs > 600_000) throw bad("--branch-timeout-ms must be 100..600000");
    if (signingSecret != null && signingSecret.length() < 16) throw bad("--signing-secret must be at least 16 characters");
    int advertised = advertisePort != null ? advertisePort : port;
    if (advertised < 1 || advertised > 65535) throw bad("--advertise-port must be 1-65535");
    try {
      dev.duet.failpoints.Failpoints.configure(failpoints); // a bad spec stops start-up, never ignored
    } catch (IllegalArgumentException e) {
      throw bad("--failpoints: " + e.getMessage());
    }
    int branches = branchesMax != null ? branchesMax : dbUrl != null ? 48 : 1024;
    if (branches < 1 || branches > 100_000) throw bad("--branches-max must be 1..100000");
    BankDatabase db;
    if (dbUrl != null) {
      if (!dbUrl.startsWith("jdbc:postgresql:")) throw bad("--db-url must be a jdbc:postgresql: URL");
      db = BankDatabase.postgres(dbUrl);
    } else {
      db = BankDatabase.h2(dataDir != null ? dataDir : Path.of("data", name));
    }
    BankServer server = BankServer.start(new BankServer.Config(name, host, port, advertiseHost, db,
        coordinator.replaceAll("/+$", ""), coordinatorToken, signingSecret, accounts, initialBalance, workers,
        branchTimeoutMs, recoveryPeriodMs, branches, advertised, chaos));
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      server.close();
      stopped.countDown();
    }, "shutdown"));
    System.out.println(name + " ready on http://" + host + ":" + port);
    stopped.await();
    return 0;
  }

  private CommandLine.ParameterException bad(String message) {
    return new CommandLine.ParameterException(spec.commandLine(), message);
  }
}

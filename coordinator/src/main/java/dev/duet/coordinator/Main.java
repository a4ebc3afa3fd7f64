package dev.duet.coordinator;

import dev.duet.coordinator.config.CoordinatorConfig;
import dev.duet.coordinator.log.LogCorruptedException;
import dev.duet.coordinator.protocol.ProtocolConfig;
import dev.duet.coordinator.shell.CoordinatorServer;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code java -jar coordinator.jar --port 7070 --data-dir ./data/coordinator}. */
@Command(name = "coordinator", mixinStandardHelpOptions = true, version = "duet coordinator 0.1.0",
    description = "Duet two-phase-commit coordinator. Every flag can also be set by the environment"
        + " variable shown in its description.", sortOptions = false)
public final class Main implements Callable<Integer> {

  @Option(names = "--host", defaultValue = "${env:DUET_HOST:-127.0.0.1}",
      description = "Address to listen on (DUET_HOST). Default: ${DEFAULT-VALUE}")
  String host;

  @Option(names = "--port", defaultValue = "${env:DUET_PORT:-7070}",
      description = "API port (DUET_PORT). Default: ${DEFAULT-VALUE}")
  int port;

  @Option(names = "--data-dir", defaultValue = "${env:DUET_DATA_DIR:-./data/coordinator}",
      description = "Directory of the decision log (DUET_DATA_DIR). Default: ${DEFAULT-VALUE}")
  Path dataDir;

  @Option(names = "--prepare-timeout-ms", defaultValue = "${env:DUET_PREPARE_TIMEOUT_MS:-10000}",
      description = "Phase 1 time limit before the transaction aborts (DUET_PREPARE_TIMEOUT_MS). Default: ${DEFAULT-VALUE}")
  long prepareTimeoutMs;

  @Option(names = "--retry-backoff-max-ms", defaultValue = "${env:DUET_RETRY_BACKOFF_MAX_MS:-30000}",
      description = "Cap of the phase-2 retry backoff; retries never stop (DUET_RETRY_BACKOFF_MAX_MS). Default: ${DEFAULT-VALUE}")
  long retryBackoffMaxMs;

  @Option(names = "--signing-secret", defaultValue = "${env:DUET_SIGNING_SECRET}",
      description = "Shared secret (16+ chars) to sign calls to participants (DUET_SIGNING_SECRET). Default: unsigned")
  String signingSecret;

  @Option(names = "--client-token", defaultValue = "${env:DUET_CLIENT_TOKEN}",
      description = "Bearer token clients must send on /v1 (DUET_CLIENT_TOKEN). Default: none")
  String clientToken;

  @Option(names = "--shards", defaultValue = "${env:DUET_SHARDS:-0}",
      description = "Protocol cores, one per event loop; 0 = one per CPU (DUET_SHARDS). Default: ${DEFAULT-VALUE}")
  int shards;

  @Option(names = "--failpoints", defaultValue = "${env:DUET_FAILPOINTS}",
      description = "Fault injection, e.g. coordinator.after-decision=crash (DUET_FAILPOINTS). See docs/fault-injection.md")
  String failpoints;

  @Option(names = "--chaos", defaultValue = "${env:DUET_CHAOS:-false}",
      description = "Serve /admin/failpoints to arm faults at run time (DUET_CHAOS). Never in production.")
  boolean chaos;

  @Option(names = "--unsafe-no-fsync", hidden = true, defaultValue = "false",
      description = "Tests only: do not fsync the decision log (loses decisions on a crash)")
  boolean noFsync;

  @Override
  public Integer call() throws Exception {
    if (port < 0 || port > 65535) throw new CommandLine.ParameterException(new CommandLine(this), "--port must be 0-65535");
    if (prepareTimeoutMs < 1 || prepareTimeoutMs > 600_000) {
      throw new CommandLine.ParameterException(new CommandLine(this), "--prepare-timeout-ms must be 1-600000");
    }
    if (retryBackoffMaxMs < 50 || retryBackoffMaxMs > 3_600_000) {
      throw new CommandLine.ParameterException(new CommandLine(this), "--retry-backoff-max-ms must be 50-3600000");
    }
    if (signingSecret != null && signingSecret.length() < 16) {
      throw new CommandLine.ParameterException(new CommandLine(this), "--signing-secret must be at least 16 characters");
    }
    if (shards < 0 || shards > 64) throw new CommandLine.ParameterException(new CommandLine(this), "--shards must be 0-64");
    try {
      dev.duet.failpoints.Failpoints.configure(failpoints);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(new CommandLine(this), "--failpoints: " + e.getMessage());
    }
    CoordinatorConfig base = CoordinatorConfig.defaults(dataDir, port);
    ProtocolConfig protocol = base.protocol().withPrepareTimeoutMs(prepareTimeoutMs)
        .withRetryBackoffMs(Math.min(50, retryBackoffMaxMs), retryBackoffMaxMs);
    CoordinatorConfig config = new CoordinatorConfig(host, port, dataDir,
        shards == 0 ? base.shards() : shards, protocol, Math.min(base.prepareCallTimeoutMs(), prepareTimeoutMs),
        base.phase2CallTimeoutMs(), base.connectionsPerHostMax(), base.pendingRequestsMax(),
        signingSecret, clientToken, !noFsync, base.segmentBytesMax(), base.tickMs(), chaos);
    CoordinatorServer server;
    try {
      server = CoordinatorServer.start(config);
    } catch (LogCorruptedException e) {
      System.err.println("coordinator: refusing to start: " + e.getMessage());
      return 1;
    } catch (java.net.BindException e) {
      System.err.println("coordinator: cannot listen on " + host + ":" + port + ": " + e.getMessage());
      return 1;
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      server.close();
      stopped.countDown();
    }, "shutdown"));
    System.out.println("duet coordinator ready on http://" + host + ":" + server.port());
    stopped.await();
    return 0;
  }

  /** One line a person can act on; file system errors name the file and what went wrong. */
  static String describe(Throwable t) {
    if (t instanceof java.nio.file.FileSystemException fs) {
      String why = fs.getReason() != null ? fs.getReason() : t.getClass().getSimpleName().replace("Exception", "");
      return "cannot use " + fs.getFile() + ": " + why;
    }
    return t.getMessage() != null ? t.getMessage() : t.toString();
  }

  public static void main(String[] args) {
    CommandLine cli = new CommandLine(new Main());
    cli.setExecutionExceptionHandler((ex, cmd, parsed) -> {
      Throwable root = ex;
      while (root.getCause() != null) root = root.getCause();
      cmd.getErr().println("coordinator: " + describe(root));
      return 1;
    });
    System.exit(cli.execute(args));
  }
}

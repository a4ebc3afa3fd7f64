package dev.duet.bank.chaos;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The demo as four OS processes — coordinator, bank-a, bank-b, transfers — each on a fixed port and
 * data directory so any of them can be SIGKILLed and restarted in place. With proxies, each bank
 * enlists with its proxy's URL, so coordinator → bank calls cross a {@link TcpProxy}.
 */
public final class Cluster implements AutoCloseable {
  public static final String COORDINATOR = "coordinator";
  public static final String TRANSFERS = "transfers";
  public static final List<String> BANKS = List.of("bank-a", "bank-b");
  public static final String SECRET = "chaos-signing-secret-0123456789";
  public static final Duration START_TIMEOUT = Duration.ofSeconds(90);

  /**
   * @param coordinatorCommand how to run the coordinator, up to its flags (java -jar coordinator.jar, or a classpath)
   * @param demoCommand how to run {@code dev.duet.bank.Main}, up to the subcommand
   * @param dbArgs bank name → its database flags; null means an H2 file under {@code dir}
   * @param proxies put a {@link TcpProxy} between the coordinator and each bank
   */
  public record Options(Path dir, List<String> coordinatorCommand, List<String> demoCommand,
      Function<String, List<String>> dbArgs, boolean proxies, long seed, int accounts, long initialBalance,
      long txTimeoutMs, long bankRecoveryPeriodMs) {}

  public final Options options;
  public final Node coordinator;
  private Node transfers;
  public final Map<String, Node> banks = new LinkedHashMap<>();
  public final Map<String, TcpProxy> proxies = new LinkedHashMap<>();

  private Cluster(Options options, Node coordinator) {
    this.options = options;
    this.coordinator = coordinator;
  }

  /** JVM flags of every child: small heap, quick start-up (the machine may have 2 cores). */
  public static List<String> jvm(List<String> rest) {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"));
    cmd.addAll(rest);
    return cmd;
  }

  public static Cluster start(Options o) throws Exception {
    Path logs = o.dir().resolve("logs");
    int coordinatorPort = freePort();
    List<String> coordinator = new ArrayList<>(o.coordinatorCommand());
    coordinator.addAll(List.of("--port", Integer.toString(coordinatorPort), "--data-dir",
        o.dir().resolve(COORDINATOR).toString(), "--signing-secret", SECRET, "--chaos", "--shards", "1",
        "--retry-backoff-max-ms", "500", "--prepare-timeout-ms", "5000"));
    Cluster c = new Cluster(o, new Node(COORDINATOR, coordinatorPort, coordinator, logs.resolve("coordinator.log")));
    try {
      c.coordinator.start(START_TIMEOUT);
      String coordinatorUrl = c.coordinator.url();
      List<String> bankFlags = new ArrayList<>();
      int i = 0;
      for (String name : BANKS) {
        int port = freePort();
        int advertised = port;
        if (o.proxies()) {
          TcpProxy proxy = TcpProxy.start(freePort(), port, o.seed() * 31 + i++);
          c.proxies.put(name, proxy);
          advertised = proxy.port();
        }
        List<String> cmd = new ArrayList<>(o.demoCommand());
        cmd.addAll(List.of("bank", "--name", name, "--port", Integer.toString(port), "--advertise-port",
            Integer.toString(advertised), "--coordinator", coordinatorUrl, "--signing-secret", SECRET, "--chaos",
            "--accounts", Integer.toString(o.accounts()), "--initial-balance", Long.toString(o.initialBalance()),
            "--recovery-period-ms", Long.toString(o.bankRecoveryPeriodMs()), "--workers", "8"));
        List<String> db = o.dbArgs() == null ? null : o.dbArgs().apply(name);
        cmd.addAll(db != null ? db : List.of("--data-dir", o.dir().resolve(name).toString()));
        Node bank = new Node(name, port, cmd, logs.resolve(name + ".log"));
        c.banks.put(name, bank);
        bank.launch(List.of());
        bankFlags.addAll(List.of("--bank", name + "=" + bank.url()));
      }
      for (Node bank : c.banks.values()) bank.awaitHealthy(START_TIMEOUT);
      int transfersPort = freePort();
      List<String> cmd = new ArrayList<>(o.demoCommand());
      cmd.addAll(List.of("transfers", "--port", Integer.toString(transfersPort), "--data-dir",
          o.dir().resolve(TRANSFERS).toString(), "--coordinator", coordinatorUrl, "--tx-timeout-ms",
          Long.toString(o.txTimeoutMs()), "--call-timeout-ms", "3000"));
      cmd.addAll(bankFlags);
      c.transfers = new Node(TRANSFERS, transfersPort, cmd, logs.resolve("transfers.log"));
      c.transfers.start(START_TIMEOUT);
      return c;
    } catch (Exception e) {
      c.close();
      throw e;
    }
  }

  public Node transfers() {
    return transfers;
  }

  public Node node(String name) {
    if (name.equals(COORDINATOR)) return coordinator;
    if (name.equals(TRANSFERS)) return transfers;
    Node bank = banks.get(name);
    if (bank == null) throw new IllegalArgumentException("no node " + name);
    return bank;
  }

  public List<Node> nodes() {
    List<Node> all = new ArrayList<>();
    all.add(coordinator);
    all.addAll(banks.values());
    if (transfers != null) all.add(transfers);
    return all;
  }

  /** Bank name → URL of its own API (not the proxy: audits read the bank directly). */
  public Map<String, String> bankUrls() {
    Map<String, String> m = new LinkedHashMap<>();
    banks.forEach((n, b) -> m.put(n, b.url()));
    return m;
  }

  public long expectedTotal() {
    return (long) BANKS.size() * options.accounts() * options.initialBalance();
  }

  public static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      s.setReuseAddress(true);
      return s.getLocalPort();
    }
  }

  @Override
  public void close() {
    for (Node n : nodes()) {
      if (n == null) continue;
      try {
        n.kill();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    proxies.values().forEach(TcpProxy::close);
  }
}

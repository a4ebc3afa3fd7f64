package dev.duet.bank.transfer;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code java -jar demo-bank.jar transfers --port 8080 --bank bank-a=http://127.0.0.1:8081 ...}. */
@Command(name = "transfers", mixinStandardHelpOptions = true, sortOptions = false,
    description = "The transfer service: POST /transfers moves money between banks atomically.")
public final class TransfersCommand implements Callable<Integer> {
  @Spec
  CommandLine.Model.CommandSpec spec;

  @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to listen on. Default: ${DEFAULT-VALUE}")
  String host;

  @Option(names = "--port", defaultValue = "8080", description = "HTTP port. Default: ${DEFAULT-VALUE}")
  int port;

  @Option(names = "--data-dir", defaultValue = "data/transfers", description = "Directory of the transfer records. Default: ${DEFAULT-VALUE}")
  Path dataDir;

  @Option(names = "--coordinator", defaultValue = "http://127.0.0.1:7070", description = "Coordinator URL. Default: ${DEFAULT-VALUE}")
  String coordinator;

  @Option(names = "--coordinator-token", defaultValue = "${env:DUET_CLIENT_TOKEN}", description = "Bearer token for the coordinator, if it wants one")
  String coordinatorToken;

  @Option(names = "--bank", required = true, description = "A bank, NAME=URL (repeat for each bank)")
  Map<String, String> banks = new LinkedHashMap<>();

  @Option(names = "--in-flight-max", defaultValue = "512", description = "Transfers under way at once; past it 503. Default: ${DEFAULT-VALUE}")
  int inFlightMax;

  @Option(names = "--tx-timeout-ms", defaultValue = "10000", description = "Transaction timeout at the coordinator. Default: ${DEFAULT-VALUE}")
  long txTimeoutMs;

  @Option(names = "--call-timeout-ms", defaultValue = "5000", description = "Time limit of one call to a bank. Default: ${DEFAULT-VALUE}")
  long callTimeoutMs;

  @Override
  public Integer call() throws Exception {
    if (port < 0 || port > 65535) throw bad("--port must be 0-65535");
    if (inFlightMax < 1 || inFlightMax > 100_000) throw bad("--in-flight-max must be 1..100000");
    if (txTimeoutMs < 100 || txTimeoutMs > 600_000) throw bad("--tx-timeout-ms must be 100..600000");
    if (callTimeoutMs < 10 || callTimeoutMs > 600_000) throw bad("--call-timeout-ms must be 10..600000");
    for (Map.Entry<String, String> b : banks.entrySet()) {
      if (!b.getValue().matches("https?://[^/?#]+")) throw bad("--bank " + b.getKey() + ": URL must be http(s)://host:port");
    }
    TransfersServer server = TransfersServer.start(new TransfersServer.Config(host, port, dataDir,
        coordinator.replaceAll("/+$", ""), coordinatorToken, banks, inFlightMax, txTimeoutMs, callTimeoutMs));
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      server.close();
      stopped.countDown();
    }, "shutdown"));
    System.out.println("transfers ready on http://" + host + ":" + server.port());
    stopped.await();
    return 0;
  }

  private CommandLine.ParameterException bad(String message) {
    return new CommandLine.ParameterException(spec.commandLine(), message);
  }
}

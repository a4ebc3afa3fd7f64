package dev.duet.bank.it;

import dev.duet.bank.Main;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** A bank as a real OS process on the test classpath, killable with SIGKILL and restartable on its data. */
final class BankProcess implements AutoCloseable {
  private final List<String> command;
  private final Path logFile;
  final String name;
  final int port;
  private Process process;

  private BankProcess(String name, int port, List<String> command, Path logFile) {
    this.name = name;
    this.port = port;
    this.command = command;
    this.logFile = logFile;
  }

  static BankProcess start(String name, String coordinatorUrl, String secret, List<String> dbArgs) throws Exception {
    int port = freePort();
    Path log = Files.createTempFile(name, ".log");
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx256m", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"), Main.class.getName(), "bank",
        "--name", name, "--port", Integer.toString(port), "--coordinator", coordinatorUrl,
        "--signing-secret", secret, "--accounts", "200", "--recovery-period-ms", "300", "--workers", "8"));
    cmd.addAll(dbArgs);
    BankProcess b = new BankProcess(name, port, cmd, log);
    b.launch();
    return b;
  }

  void launch() throws Exception {
    process = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile())).start();
    HttpClient client = HttpClient.newHttpClient();
    long deadline = System.currentTimeMillis() + 60_000;
    while (System.currentTimeMillis() < deadline) {
      if (!process.isAlive()) throw new IllegalStateException(name + " exited: " + Files.readString(logFile));
      try {
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(url() + "/health"))
            .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 200) return;
      } catch (IOException notYet) {
        // not listening yet
      }
      Thread.sleep(50);
    }
    throw new IllegalStateException(name + " not healthy in 60 s: " + Files.readString(logFile));
  }

  String url() {
    return "http://127.0.0.1:" + port;
  }

  /** SIGKILL: no shutdown hook, nothing flushed, prepared branches left in the database. */
  void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor();
  }

  @Override
  public void close() throws InterruptedException {
    kill();
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      s.setReuseAddress(true);
      return s.getLocalPort();
    }
  }
}

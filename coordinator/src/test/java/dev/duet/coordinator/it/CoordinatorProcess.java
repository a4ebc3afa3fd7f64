package dev.duet.coordinator.it;

import dev.duet.coordinator.Main;
import java.io.File;
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

/** The coordinator as a real OS process on the test classpath, killable with SIGKILL. */
public final class CoordinatorProcess implements AutoCloseable {
  private final Process process;
  public final int port;
  public final Path logFile;

  private CoordinatorProcess(Process process, int port, Path logFile) {
    this.process = process;
    this.port = port;
    this.logFile = logFile;
  }

  public static CoordinatorProcess start(Path dataDir, String... extraArgs) throws Exception {
    int port = freePort();
    Path logFile = Files.createTempFile("coordinator", ".log");
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx256m", "-cp", System.getProperty("java.class.path"), Main.class.getName(),
        "--port", Integer.toString(port), "--data-dir", dataDir.toString(), "--shards", "1",
        "--retry-backoff-max-ms", "200"));
    cmd.addAll(List.of(extraArgs));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(logFile.toFile()).start();
    CoordinatorProcess cp = new CoordinatorProcess(p, port, logFile);
    cp.awaitHealthy();
    return cp;
  }

  private void awaitHealthy() throws Exception {
    HttpClient client = HttpClient.newHttpClient();
    long deadline = System.currentTimeMillis() + 30_000;
    while (System.currentTimeMillis() < deadline) {
      if (!process.isAlive()) throw new IllegalStateException("coordinator exited: " + Files.readString(logFile));
      try {
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(baseUrl() + "/health"))
            .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 200) return;
      } catch (IOException notYet) {
        // not listening yet
      }
      Thread.sleep(50);
    }
    throw new IllegalStateException("coordinator not healthy in 30 s: " + Files.readString(logFile));
  }

  public record Exit(int status, String output) {}

  /** Runs the coordinator expecting it to stop by itself (e.g. refusing to start). */
  public static Exit run(Path dataDir, String... extraArgs) throws Exception {
    int port = freePort();
    List<String> cmd = new ArrayList<>(List.of(javaBin().toString(), "-Xmx256m", "-cp",
        System.getProperty("java.class.path"), Main.class.getName(), "--port", Integer.toString(port),
        "--data-dir", dataDir.toString()));
    cmd.addAll(List.of(extraArgs));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (!p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException("coordinator did not stop: " + out);
    }
    return new Exit(p.exitValue(), out);
  }

  /** Waits for the process to end by itself (a crash failpoint) and returns its exit status. */
  public int waitForExit() throws InterruptedException {
    if (!process.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) throw new IllegalStateException("still running");
    return process.exitValue();
  }

  public String baseUrl() {
    return "http://127.0.0.1:" + port;
  }

  /** SIGKILL: no shutdown hooks, no flush. */
  public void kill() throws InterruptedException {
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

  static File javaBin() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toFile();
  }
}

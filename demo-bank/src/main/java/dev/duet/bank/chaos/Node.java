package dev.duet.bank.chaos;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One service of the demo as a real OS process: started from a fixed command on a fixed port (so a
 * restart comes back where the others expect it), killed with SIGKILL, restarted on the same data.
 * Its output is appended to one log file across restarts.
 */
public final class Node {
  /** Lines of the log shown when a node fails to start. */
  private static final int LOG_TAIL_LINES = 30;
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  public final String name;
  public final int port;
  public final Path logFile;
  private final List<String> command;
  private volatile Process process;

  public Node(String name, int port, List<String> command, Path logFile) {
    this.name = name;
    this.port = port;
    this.command = List.copyOf(command);
    this.logFile = logFile;
  }

  public String url() {
    return "http://127.0.0.1:" + port;
  }

  /** Launches the process with {@code extraArgs} appended; does not wait for it to be ready. */
  public synchronized void launch(List<String> extraArgs) throws IOException {
    if (alive()) throw new IllegalStateException(name + " is already running");
    List<String> cmd = new ArrayList<>(command);
    cmd.addAll(extraArgs);
    Files.createDirectories(logFile.getParent());
    Files.writeString(logFile, "=== start " + java.time.Instant.now() + ": " + String.join(" ", extraArgs) + "\n",
        java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
    process = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile())).start();
  }

  /** Launches and waits until {@code GET /health} answers 200. */
  public void start(List<String> extraArgs, Duration timeout) throws IOException, InterruptedException {
    launch(extraArgs);
    awaitHealthy(timeout);
  }

  public void start(Duration timeout) throws IOException, InterruptedException {
    start(List.of(), timeout);
  }

  public void awaitHealthy(Duration timeout) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      Process p = process;
      if (p == null || !p.isAlive()) {
        throw new IllegalStateException(name + " exited" + (p == null ? "" : " with status " + p.exitValue())
            + " while starting; last lines of " + logFile + ":\n" + logTail());
      }
      if (healthy()) return;
      Thread.sleep(50);
    }
    throw new IllegalStateException(name + " not healthy within " + timeout.toSeconds() + " s; see " + logFile + ":\n" + logTail());
  }

  public boolean healthy() throws InterruptedException {
    try {
      HttpResponse<Void> r = HTTP.send(HttpRequest.newBuilder(URI.create(url() + "/health"))
          .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.discarding());
      return r.statusCode() == 200;
    } catch (IOException notYet) {
      return false;
    }
  }

  public boolean alive() {
    Process p = process;
    return p != null && p.isAlive();
  }

  /** Exit status of the last run, or null while it runs (or never ran). */
  public Integer exitStatus() {
    Process p = process;
    return p == null || p.isAlive() ? null : p.exitValue();
  }

  /** Waits for the process to end by itself (e.g. a crash failpoint); its exit status, or null if still running. */
  public Integer awaitExit(Duration timeout) throws InterruptedException {
    Process p = process;
    if (p == null) return null;
    return p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS) ? p.exitValue() : null;
  }

  /** SIGKILL: no shutdown hook runs, nothing is flushed. */
  public void kill() throws InterruptedException {
    Process p = process;
    if (p == null) return;
    p.destroyForcibly();
    p.waitFor();
  }

  public String logTail() {
    try {
      List<String> lines = Files.readAllLines(logFile);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - LOG_TAIL_LINES), lines.size()));
    } catch (IOException e) {
      return "(cannot read " + logFile + ": " + e.getMessage() + ")";
    }
  }

  @Override
  public String toString() {
    return name + "@" + port;
  }
}

package dev.duet.bank.chaos;

import dev.duet.failpoints.Failpoints;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * The faults of a chaos run. {@link #plan} turns a seed into a fixed list of faults — what, where,
 * for how long — so the same seed injects the same faults in the same order. {@link #run} injects
 * them one after the other, each after the previous one is over and its victim back up.
 */
public final class Nemesis {
  public enum Kind {
    /** SIGKILL a process, restart it on its data after a pause. */
    KILL,
    /** Arm a crash failpoint in a process; it dies at that protocol step and is restarted. */
    CRASH_AT_FAILPOINT,
    /** The bank unreachable from the coordinator: connections silent. */
    PARTITION,
    /** Coordinator ↔ bank traffic delayed. */
    DELAY,
    /** Coordinator ↔ bank connections dropped at random, before the request or after the reply. */
    DROP
  }

  /**
   * @param atMs planned start, from the start of the run
   * @param durationMs how long the fault lasts (the pause before a restart, the partition...)
   * @param detail the failpoint, the delay in ms, or the drop probability
   */
  public record Fault(long atMs, Kind kind, String target, long durationMs, String detail) {
    @Override
    public String toString() {
      return String.format("%6.1fs %-18s %-11s %5d ms %s", atMs / 1000.0, kind, target, durationMs, detail);
    }
  }

  /** A fault as injected: late if a restart took longer than planned. */
  public record Injected(Fault fault, long startedMs, String note) {}

  static final List<String> PROCESSES = List.of(Cluster.COORDINATOR, "bank-a", "bank-b", Cluster.TRANSFERS);
  static final List<String> COORDINATOR_FAILPOINTS = List.of(Failpoints.COORDINATOR_BEFORE_DECISION,
      Failpoints.COORDINATOR_AFTER_DECISION, Failpoints.COORDINATOR_MID_PHASE2, Failpoints.COORDINATOR_RECOVERY);
  static final List<String> PARTICIPANT_FAILPOINTS = List.of(Failpoints.PARTICIPANT_BEFORE_PREPARE,
      Failpoints.PARTICIPANT_AFTER_PREPARE, Failpoints.PARTICIPANT_AFTER_COMMIT);
  /** Quiet time before the first fault, so the run starts with transfers flowing. */
  static final long FIRST_FAULT_MS = 2_000;
  /** No fault starts in the last part of the run. */
  static final long QUIET_END_MS = 3_000;
  /** Longest wait for an armed failpoint to fire before it is disarmed. */
  static final long ARMED_WINDOW_MS = 6_000;

  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  private final Cluster cluster;
  private final PrintStream out;
  private final List<Injected> injected = new ArrayList<>();
  private final List<String> violations = new ArrayList<>();
  private volatile boolean stopping;

  public Nemesis(Cluster cluster, PrintStream out) {
    this.cluster = cluster;
    this.out = out;
  }

  /** The faults of a run of {@code seconds}, a pure function of the seed. */
  public static List<Fault> plan(long seed, long seconds) {
    SplittableRandom r = new SplittableRandom(seed);
    List<Fault> plan = new ArrayList<>();
    long end = seconds * 1000 - QUIET_END_MS;
    long at = FIRST_FAULT_MS;
    while (at < end) {
      Fault f = switch (r.nextInt(10)) {
        case 0, 1, 2 -> new Fault(at, Kind.KILL, PROCESSES.get(r.nextInt(PROCESSES.size())), 300 + r.nextLong(2_700), "SIGKILL");
        case 3, 4 -> {
          boolean coordinator = r.nextBoolean();
          String target = coordinator ? Cluster.COORDINATOR : Cluster.BANKS.get(r.nextInt(2));
          List<String> points = coordinator ? COORDINATOR_FAILPOINTS : PARTICIPANT_FAILPOINTS;
          yield new Fault(at, Kind.CRASH_AT_FAILPOINT, target, 300 + r.nextLong(1_700), points.get(r.nextInt(points.size())));
        }
        case 5, 6 -> new Fault(at, Kind.PARTITION, Cluster.BANKS.get(r.nextInt(2)), 1_000 + r.nextLong(5_000), "blackhole");
        case 7, 8 -> new Fault(at, Kind.DELAY, Cluster.BANKS.get(r.nextInt(2)), 1_000 + r.nextLong(4_000),
            (50 + r.nextLong(750)) + " ms");
        default -> new Fault(at, Kind.DROP, Cluster.BANKS.get(r.nextInt(2)), 1_000 + r.nextLong(4_000),
            String.format("p=%.2f", 0.2 + r.nextInt(4) * 0.1));
      };
      plan.add(f);
      at += f.durationMs() + 1_000 + r.nextLong(3_000);
    }
    return plan;
  }

  /** Injects the plan until it is done or {@link #stop} is called; returns what was injected. */
  public List<Injected> run(List<Fault> plan, long runStartNanos) throws InterruptedException {
    for (Fault f : plan) {
      long wait = f.atMs() - (System.nanoTime() - runStartNanos) / 1_000_000;
      while (wait > 0 && !stopping) {
        Thread.sleep(Math.min(wait, 100));
        wait = f.atMs() - (System.nanoTime() - runStartNanos) / 1_000_000;
      }
      if (stopping) break;
      reviveUnexpected();
      long started = (System.nanoTime() - runStartNanos) / 1_000_000;
      String note;
      try {
        note = inject(f);
      } catch (IOException | RuntimeException e) {
        note = "could not inject: " + e.getMessage();
        violations.add(f.kind() + " " + f.target() + ": " + note);
      }
      synchronized (this) {
        injected.add(new Injected(f, started, note));
      }
      out.printf("  %s -> %s%n", f, note);
    }
    return injected();
  }

  public void stop() {
    stopping = true;
  }

  public synchronized List<Injected> injected() {
    return List.copyOf(injected);
  }

  /** Faults the nemesis could not inject, and processes that died when nobody killed them. */
  public synchronized List<String> violations() {
    return List.copyOf(violations);
  }

  /** Injected faults by kind. */
  public synchronized Map<String, Integer> countsByKind() {
    Map<String, Integer> m = new TreeMap<>();
    for (Injected i : injected) m.merge(i.fault().kind().name(), 1, Integer::sum);
    return m;
  }

  private String inject(Fault f) throws IOException, InterruptedException {
    return switch (f.kind()) {
      case KILL -> {
        Node n = cluster.node(f.target());
        n.kill();
        Thread.sleep(f.durationMs());
        restart(n, List.of());
        yield "killed, restarted";
      }
      case CRASH_AT_FAILPOINT -> crashAt(f);
      case PARTITION -> {
        TcpProxy p = cluster.proxies.get(f.target());
        p.blackhole();
        Thread.sleep(f.durationMs());
        p.pass();
        yield "unreachable, healed";
      }
      case DELAY -> {
        TcpProxy p = cluster.proxies.get(f.target());
        p.delay(Long.parseLong(f.detail().replace(" ms", "")));
        Thread.sleep(f.durationMs());
        p.pass();
        yield "delayed, healed";
      }
      case DROP -> {
        TcpProxy p = cluster.proxies.get(f.target());
        long before = p.dropped();
        p.drop(Double.parseDouble(f.detail().substring(2)));
        Thread.sleep(f.durationMs());
        p.pass();
        yield (p.dropped() - before) + " connections dropped, healed";
      }
    };
  }

  private String crashAt(Fault f) throws IOException, InterruptedException {
    Node n = cluster.node(f.target());
    if (f.detail().equals(Failpoints.COORDINATOR_RECOVERY)) {
      // Recovery runs at start-up: kill the coordinator and restart it armed. It dies only if it
      // has a committed transaction to finish, which a kill under load usually leaves.
      n.kill();
      n.launch(List.of("--failpoints", Failpoints.COORDINATOR_RECOVERY + "=crash*1"));
      Integer exit = awaitHealthyOrExit(n);
      if (exit == null) return "nothing to recover at restart; not fired";
      Thread.sleep(f.durationMs());
      restart(n, List.of());
      return "crashed in recovery (exit " + exit + "), restarted";
    }
    if (!n.alive()) return "process not running; not armed";
    // A failed call may still have armed it: under load the failpoint can fire, and the process
    // halt, before the reply to the arm request leaves. So wait for the crash either way.
    boolean taken = admin(n, "POST", "{\"spec\":\"" + f.detail() + "=crash*1\"}");
    Integer exit = n.awaitExit(Duration.ofMillis(ARMED_WINDOW_MS));
    if (exit == null) {
      admin(n, "DELETE", null);
      return taken ? "not hit within " + ARMED_WINDOW_MS + " ms; disarmed" : "arm request failed; disarmed";
    }
    Thread.sleep(f.durationMs());
    restart(n, List.of());
    return "crashed (exit " + exit + "), restarted";
  }

  /** Null once healthy; the exit status if it died first. */
  private static Integer awaitHealthyOrExit(Node n) throws InterruptedException {
    long deadline = System.nanoTime() + Cluster.START_TIMEOUT.toNanos();
    while (System.nanoTime() < deadline) {
      if (!n.alive()) return n.exitStatus();
      if (n.healthy()) return null;
      Thread.sleep(50);
    }
    throw new IllegalStateException(n.name + " neither healthy nor exited; see " + n.logFile);
  }

  private static void restart(Node n, List<String> args) throws IOException, InterruptedException {
    n.kill(); // already dead, or a half-started run
    n.start(args, Cluster.START_TIMEOUT);
  }

  /** A process that died with nobody killing it is a bug: say so, and bring it back for the run to go on. */
  public void reviveUnexpected() throws InterruptedException {
    for (Node n : cluster.nodes()) {
      if (n.alive()) continue;
      String why = n.name + " exited unexpectedly (status " + n.exitStatus() + "); see " + n.logFile;
      synchronized (this) {
        violations.add(why);
      }
      out.println("  ! " + why);
      try {
        restart(n, List.of());
      } catch (IOException | RuntimeException e) {
        synchronized (this) {
          violations.add(n.name + " cannot be restarted: " + e.getMessage());
        }
      }
    }
  }

  /** Heals everything: proxies pass, failpoints disarmed, every process up. */
  public void healAll() throws InterruptedException {
    cluster.proxies.values().forEach(TcpProxy::pass);
    for (Node n : cluster.nodes()) {
      if (n.alive() && !n.name.equals(Cluster.TRANSFERS)) admin(n, "DELETE", null);
    }
    reviveUnexpected();
  }

  /** Calls /admin/failpoints; false if the process did not take it. */
  private static boolean admin(Node n, String method, String body) throws InterruptedException {
    try {
      HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(n.url() + "/admin/failpoints")).timeout(Duration.ofSeconds(5))
          .header("Content-Type", "application/json");
      b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
      return HTTP.send(b.build(), HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
    } catch (IOException e) {
      return false;
    }
  }
}

package dev.duet.failpoints;

import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Named places in the coordinator and the participant SDK where a test or a chaos run can make the
 * process crash, stall or fail on purpose. Unarmed — always, in normal operation — {@link #hit} is
 * one read of a volatile boolean.
 *
 * <p>Spec syntax (flag {@code --failpoints}, env {@code DUET_FAILPOINTS}), comma-separated:
 * {@code name=action[*count][@probability]} where action is {@code crash}, {@code error} or
 * {@code delay(ms)}. Examples: {@code coordinator.after-decision=crash},
 * {@code participant.after-prepare=delay(300)*5@0.5}.
 */
public final class Failpoints {
  private Failpoints() {}

  // The failpoints of the protocol; arming any other name is an error, never silently ignored.
  public static final String PARTICIPANT_BEFORE_PREPARE = "participant.before-prepare";
  public static final String PARTICIPANT_AFTER_PREPARE = "participant.after-prepare";
  public static final String PARTICIPANT_AFTER_COMMIT = "participant.after-commit";
  public static final String COORDINATOR_BEFORE_DECISION = "coordinator.before-decision";
  public static final String COORDINATOR_AFTER_DECISION = "coordinator.after-decision";
  public static final String COORDINATOR_MID_PHASE2 = "coordinator.mid-phase2";
  public static final String COORDINATOR_RECOVERY = "coordinator.recovery";

  public static final Set<String> KNOWN = Set.of(PARTICIPANT_BEFORE_PREPARE, PARTICIPANT_AFTER_PREPARE,
      PARTICIPANT_AFTER_COMMIT, COORDINATOR_BEFORE_DECISION, COORDINATOR_AFTER_DECISION,
      COORDINATOR_MID_PHASE2, COORDINATOR_RECOVERY);

  /** Largest delay a failpoint may inject, and largest hit count. */
  public static final long DELAY_MS_MAX = 60_000;
  public static final int COUNT_MAX = 1_000_000;

  /** Exit status of a crash failpoint, as a SIGKILLed JVM reports (128 + 9). */
  public static final int CRASH_EXIT_STATUS = 137;

  public enum Kind { CRASH, ERROR, DELAY }

  /** An armed failpoint: fires for the next {@code remaining} hits (-1 = forever) with a probability. */
  public record Arm(String name, Kind kind, long delayMs, int count, double probability) {
    public Arm {
      if (!KNOWN.contains(name)) throw new IllegalArgumentException("unknown failpoint '" + name + "'; known: " + new TreeSet<>(KNOWN));
      if (kind == null) throw new IllegalArgumentException("failpoint '" + name + "' needs an action: crash, error or delay(ms)");
      if (delayMs < 0 || delayMs > DELAY_MS_MAX) throw new IllegalArgumentException("delay must be 0.." + DELAY_MS_MAX + " ms");
      if (count != -1 && (count < 1 || count > COUNT_MAX)) throw new IllegalArgumentException("count must be 1.." + COUNT_MAX);
      if (!(probability > 0 && probability <= 1)) throw new IllegalArgumentException("probability must be in (0, 1]");
    }
  }

  /** Thrown by an armed {@code error} failpoint. */
  public static final class InjectedFault extends RuntimeException {
    public InjectedFault(String name) {
      super("injected fault at failpoint " + name, null, false, false);
    }
  }

  private static volatile boolean enabled;
  private static final Map<String, Arm> ARMS = new ConcurrentHashMap<>();
  private static final Map<String, AtomicInteger> REMAINING = new ConcurrentHashMap<>();
  private static final Map<String, AtomicInteger> FIRED = new ConcurrentHashMap<>();

  /** Passes through a failpoint. Free when nothing is armed. */
  public static void hit(String name) {
    if (!enabled) return;
    fire(name);
  }

  /** True if {@code name} is armed and has hits left (so a caller can set up an observable moment). */
  public static boolean armed(String name) {
    if (!enabled) return false;
    AtomicInteger left = REMAINING.get(name);
    return ARMS.containsKey(name) && (left == null || left.get() != 0);
  }

  private static void fire(String name) {
    Arm arm = ARMS.get(name);
    if (arm == null) return;
    AtomicInteger left = REMAINING.get(name);
    if (arm.probability() < 1 && ThreadLocalRandom.current().nextDouble() >= arm.probability()) return;
    if (left != null && left.getAndUpdate(n -> n > 0 ? n - 1 : n) <= 0) return;
    FIRED.computeIfAbsent(name, n -> new AtomicInteger()).incrementAndGet();
    switch (arm.kind()) {
      case CRASH -> {
        System.err.println("failpoint " + name + ": crashing the process");
        System.err.flush();
        // halt, not exit: no shutdown hooks, no flushing of anything else — as abrupt as SIGKILL.
        Runtime.getRuntime().halt(CRASH_EXIT_STATUS);
      }
      case ERROR -> throw new InjectedFault(name);
      case DELAY -> {
        try {
          Thread.sleep(arm.delayMs());
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }
  }

  public static synchronized void arm(Arm arm) {
    ARMS.put(arm.name(), arm);
    if (arm.count() > 0) REMAINING.put(arm.name(), new AtomicInteger(arm.count()));
    else REMAINING.remove(arm.name());
    enabled = true;
  }

  public static synchronized void disarm(String name) {
    if (!KNOWN.contains(name)) throw new IllegalArgumentException("unknown failpoint '" + name + "'");
    ARMS.remove(name);
    REMAINING.remove(name);
    enabled = !ARMS.isEmpty();
  }

  public static synchronized void clear() {
    ARMS.clear();
    REMAINING.clear();
    enabled = false;
  }

  /** How often each failpoint fired since start. */
  public static Map<String, Integer> fired() {
    Map<String, Integer> out = new java.util.TreeMap<>();
    FIRED.forEach((k, v) -> out.put(k, v.get()));
    return out;
  }

  public static Map<String, Arm> armedNow() {
    return Map.copyOf(ARMS);
  }

  /**
   * Parses and arms a spec; throws IllegalArgumentException with a one-line message on any error,
   * arming nothing in that case.
   */
  public static void configure(String spec) {
    if (spec == null || spec.isBlank()) return;
    java.util.List<Arm> arms = new java.util.ArrayList<>();
    for (String part : spec.split(",")) arms.add(parse(part.trim()));
    arms.forEach(Failpoints::arm);
  }

  static Arm parse(String s) {
    int eq = s.indexOf('=');
    if (eq <= 0) throw new IllegalArgumentException("failpoint spec '" + s + "' is not name=action");
    String name = s.substring(0, eq).trim();
    String rest = s.substring(eq + 1).trim();
    double probability = 1;
    int at = rest.indexOf('@');
    if (at >= 0) {
      probability = number(rest.substring(at + 1), "probability", s);
      rest = rest.substring(0, at);
    }
    int count = -1;
    int star = rest.indexOf('*');
    if (star >= 0) {
      count = (int) number(rest.substring(star + 1), "count", s);
      rest = rest.substring(0, star);
    }
    Kind kind;
    long delayMs = 0;
    if (rest.equals("crash")) {
      kind = Kind.CRASH;
    } else if (rest.equals("error")) {
      kind = Kind.ERROR;
    } else if (rest.startsWith("delay(") && rest.endsWith(")")) {
      kind = Kind.DELAY;
      delayMs = (long) number(rest.substring(6, rest.length() - 1), "delay", s);
    } else {
      throw new IllegalArgumentException("failpoint spec '" + s + "': action must be crash, error or delay(ms)");
    }
    return new Arm(name, kind, delayMs, count, probability);
  }

  private static double number(String text, String what, String spec) {
    try {
      return Double.parseDouble(text.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("failpoint spec '" + spec + "': " + what + " is not a number");
    }
  }
}

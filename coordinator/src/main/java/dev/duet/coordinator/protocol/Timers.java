package dev.duet.coordinator.protocol;

import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;

/**
 * Timers as data: the core never reads a clock. The shell calls {@link Coordinator#tick} with the
 * current time; whatever is due fires. Timers are never cancelled: a timer that fires after its
 * reason went away is recognised as stale by the core and ignored, which keeps every path simple.
 */
final class Timers {

  enum Kind {
    /** The transaction's own deadline: an ACTIVE transaction past it aborts. */
    DEADLINE,
    /** Phase 1 took too long. */
    PREPARE_TIMEOUT,
    /** Resend commit/rollback to one participant; {@code attempt} tells stale from current. */
    RETRY
  }

  record Timer(long atMs, long seq, String txId, Kind kind, String participant, int attempt) {}

  private final PriorityQueue<Timer> queue =
      new PriorityQueue<>((a, b) -> a.atMs != b.atMs ? Long.compare(a.atMs, b.atMs) : Long.compare(a.seq, b.seq));
  private long seq;

  void arm(long atMs, String txId, Kind kind, String participant, int attempt) {
    queue.add(new Timer(atMs, seq++, txId, kind, participant, attempt));
  }

  /** Removes and returns the timers due at {@code nowMs}, earliest first. */
  List<Timer> due(long nowMs) {
    List<Timer> out = null;
    while (!queue.isEmpty() && queue.peek().atMs <= nowMs) {
      if (out == null) out = new ArrayList<>();
      out.add(queue.poll());
    }
    return out == null ? List.of() : out;
  }

  int size() {
    return queue.size();
  }
}

package dev.duet.coordinator.log;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the records of the log add up to: COMMITs still waiting for their END (recovery re-drives
 * them), and COMMITs that ended recently (so that "was it committed?" is still answered exactly
 * after a restart, for a bounded time). Replay builds it at start-up; the writer keeps it current and
 * a segment roll writes it out again.
 */
final class LogState {
  record Ended(LogRecord.Commit commit, long endedAtMs) {}

  private final int endedRetainedMax;
  private final long endedRetainMs;
  final Map<String, LogRecord.Commit> unfinished = new LinkedHashMap<>();
  /** Oldest END first. */
  final LinkedHashMap<String, Ended> ended = new LinkedHashMap<>();

  LogState(int endedRetainedMax, long endedRetainMs) {
    this.endedRetainedMax = endedRetainedMax;
    this.endedRetainMs = endedRetainMs;
  }

  void apply(LogRecord r, long nowMs) {
    if (r instanceof LogRecord.Commit c) {
      // A roll writes a recently ended COMMIT again, followed by its END: it passes through here.
      if (!ended.containsKey(c.txId())) unfinished.put(c.txId(), c);
    } else {
      LogRecord.Commit c = unfinished.remove(r.txId());
      if (c != null) ended.put(c.txId(), new Ended(c, nowMs));
      trim(nowMs);
    }
  }

  private void trim(long nowMs) {
    Iterator<Ended> it = ended.values().iterator();
    while (it.hasNext()) {
      Ended oldest = it.next();
      if (ended.size() <= endedRetainedMax && nowMs - oldest.endedAtMs() <= endedRetainMs) break;
      it.remove();
    }
  }

  List<LogRecord.Commit> endedCommits() {
    List<LogRecord.Commit> out = new ArrayList<>(ended.size());
    for (Ended e : ended.values()) out.add(e.commit());
    return out;
  }
}

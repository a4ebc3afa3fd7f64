package dev.duet.coordinator.log;

import dev.duet.wire.Check;
import java.nio.file.Path;

/**
 * Where the decision log lives and its bounds.
 *
 * @param dir the data directory holding the segment files
 * @param fsync false only in tests and benchmarks that say so: a crash then loses decisions
 * @param segmentBytesMax size after which the writer rolls to a new segment and deletes old ones
 * @param pendingAppendsMax appends queued for the writer; past it an append is refused (503)
 * @param batchRecordsMax records written by one write + one fsync
 * @param endedRetainedMax ended COMMITs remembered (and carried across segment rolls and restarts)
 *     so that their outcome is still known; oldest forgotten first
 * @param endedRetainMs how long an ended COMMIT is remembered
 */
public record LogConfig(Path dir, boolean fsync, long segmentBytesMax, int pendingAppendsMax,
    int batchRecordsMax, int endedRetainedMax, long endedRetainMs) {

  public LogConfig {
    Check.notNull(dir, "log dir");
    Check.that(segmentBytesMax >= 4096, "segmentBytesMax >= 4096");
    Check.that(pendingAppendsMax > 0, "pendingAppendsMax > 0");
    Check.that(batchRecordsMax > 0 && batchRecordsMax <= pendingAppendsMax, "0 < batchRecordsMax <= pendingAppendsMax");
    Check.that(endedRetainedMax >= 0 && endedRetainMs >= 0, "ended retention >= 0");
  }

  public static LogConfig defaults(Path dir) {
    // Ended COMMITs are carried into each new segment so status queries survive a restart; the
    // bound keeps that copy small (about 1.5 MB), because every commit waits while a roll runs.
    return new LogConfig(dir, true, 64L << 20, 65_536, 4_096, 10_000, 10 * 60_000L);
  }

  public LogConfig withFsync(boolean on) {
    return new LogConfig(dir, on, segmentBytesMax, pendingAppendsMax, batchRecordsMax, endedRetainedMax, endedRetainMs);
  }

  public LogConfig withSegmentBytesMax(long bytes) {
    return new LogConfig(dir, fsync, bytes, pendingAppendsMax, batchRecordsMax, endedRetainedMax, endedRetainMs);
  }

  public LogConfig withPendingAppendsMax(int n) {
    return new LogConfig(dir, fsync, segmentBytesMax, n, Math.min(batchRecordsMax, n), endedRetainedMax,
        endedRetainMs);
  }

  public LogConfig withEndedRetention(int max, long retainMs) {
    return new LogConfig(dir, fsync, segmentBytesMax, pendingAppendsMax, batchRecordsMax, max, retainMs);
  }
}

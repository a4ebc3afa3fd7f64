package dev.duet.coordinator.log;

import dev.duet.wire.Check;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The coordinator's only durable state: an append-only, checksummed, group-committed log of COMMIT
 * decisions and END markers. {@link #open} replays it; {@link #unfinished} is what recovery must
 * finish; {@link #append} completes only once the record is on disk (for COMMIT: fsynced).
 * The byte format is in {@link RecordCodec} and {@link Segments}.
 */
public final class DecisionLog implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(DecisionLog.class);
  private static final long CLOSE_WAIT_MS = 10_000;

  private final LogConfig config;
  private final BlockingQueue<LogWriter.Pending> queue;
  private final LogWriter writer;
  private final Thread thread;
  private final List<LogRecord.Commit> unfinishedAtOpen;
  private final List<LogRecord.Commit> endedAtOpen;
  private final FileChannel lockChannel;
  private final FileLock lock;
  private final Counter appends;
  private volatile boolean closed;

  public record Stats(long records, long batches, long fsyncs, int unfinished, int segments) {}

  private DecisionLog(LogConfig config, MeterRegistry registry, FileChannel lockChannel, FileLock lock,
      Replay.Result replayed, FileChannel channel, long size) {
    this.config = config;
    this.lockChannel = lockChannel;
    this.lock = lock;
    this.queue = new ArrayBlockingQueue<>(config.pendingAppendsMax());
    this.unfinishedAtOpen = List.copyOf(replayed.unfinished().values());
    this.endedAtOpen = replayed.state().endedCommits();
    Counter fsyncs = Counter.builder("duet.log.fsyncs").description("fsyncs of the decision log").register(registry);
    Timer fsyncLatency = Timer.builder("duet.log.fsync.latency").publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofSeconds(1)).register(registry);
    DistributionSummary batchRecords = DistributionSummary.builder("duet.log.batch.records")
        .description("records written by one write (+ one fsync)").register(registry);
    Counter deleted = Counter.builder("duet.log.segments.deleted").register(registry);
    this.appends = Counter.builder("duet.log.appends").register(registry);
    LogWriter.Meters meters = new LogWriter.Meters() {
      public Counter fsyncs() { return fsyncs; }
      public Timer fsyncLatency() { return fsyncLatency; }
      public DistributionSummary batchRecords() { return batchRecords; }
      public Counter segmentsDeleted() { return deleted; }
    };
    long seq = replayed.lastSegment() == null ? 1 : replayed.lastSeq();
    this.writer = new LogWriter(config, queue, meters, channel, seq, size, replayed.state(),
        Math.max(1, replayed.segments()));
    Gauge.builder("duet.log.unfinished", writer, w -> w.unfinishedCount)
        .description("COMMIT records without END (phase 2 not finished)").register(registry);
    Gauge.builder("duet.log.segments", writer, w -> w.segmentCount).register(registry);
    Gauge.builder("duet.log.pending.appends", queue, BlockingQueue::size).register(registry);
    this.thread = new Thread(writer, "duet-log-writer");
    thread.setDaemon(true);
    thread.start();
  }

  /** Replays the log in {@code config.dir()} (truncating a torn tail) and starts the writer. */
  public static DecisionLog open(LogConfig config, MeterRegistry registry) throws IOException {
    Path dir = config.dir();
    Files.createDirectories(dir);
    FileChannel lockChannel = FileChannel.open(dir.resolve("LOCK"), StandardOpenOption.CREATE,
        StandardOpenOption.WRITE);
    FileLock lock;
    try {
      lock = lockChannel.tryLock();
    } catch (java.nio.channels.OverlappingFileLockException e) {
      lock = null; // held by this very process
    } catch (IOException | RuntimeException e) {
      lockChannel.close();
      throw e;
    }
    if (lock == null) {
      lockChannel.close();
      throw new IOException("data directory " + dir + " is in use by another coordinator process");
    }
    try {
      Replay.Result r = Replay.run(dir, config);
      FileChannel channel;
      long size;
      if (r.lastSegment() == null) {
        channel = Segments.create(dir, 1, config.fsync());
        size = Segments.HEADER_BYTES;
      } else {
        channel = FileChannel.open(r.lastSegment(), StandardOpenOption.WRITE, StandardOpenOption.READ);
        if (r.lastValidEnd() < Segments.HEADER_BYTES) {
          channel.truncate(0);
          channel.position(0);
          Segments.writeFully(channel, Segments.header(r.lastSeq()));
          if (config.fsync()) channel.force(true);
          size = Segments.HEADER_BYTES;
        } else {
          if (r.tornBytes() > 0) {
            log.warn("decision log: cutting a torn tail of {} bytes at offset {} of {} (a write the crash"
                + " interrupted; it was never acknowledged)", r.tornBytes(), r.lastValidEnd(), r.lastSegment());
            channel.truncate(r.lastValidEnd());
            if (config.fsync()) channel.force(true);
          }
          size = r.lastValidEnd();
        }
        channel.position(size);
      }
      log.info("decision log open in {}: {} segments, {} records replayed, {} unfinished commits",
          dir, r.segments(), r.records(), r.unfinished().size());
      return new DecisionLog(config, registry, lockChannel, lock, r, channel, size);
    } catch (IOException | RuntimeException e) {
      lock.release();
      lockChannel.close();
      throw e;
    }
  }

  /**
   * Queues a record. The future completes once it is written — for a COMMIT, once it is fsynced —
   * or fails with {@link LogRefusedException} (never queued: full, failed or closed) or {@link
   * LogFailedException} (queued, then the disk failed: it may or may not be on disk).
   */
  public CompletableFuture<Void> append(LogRecord record) {
    Check.notNull(record, "record");
    CompletableFuture<Void> done = new CompletableFuture<>();
    LogFailedException failure = writer.failure;
    if (failure != null) {
      return CompletableFuture.failedFuture(new LogRefusedException("decision log has failed: " + failure.getMessage()));
    }
    if (closed) return CompletableFuture.failedFuture(new LogRefusedException("decision log is closed"));
    if (!queue.offer(new LogWriter.Pending(record, done))) {
      return CompletableFuture.failedFuture(new LogFullException(
          config.pendingAppendsMax() + " appends already wait for the disk (pendingAppendsMax)"));
    }
    appends.increment();
    // The writer may have stopped between the checks and the offer: then nobody else drains.
    if (writer.failure != null || !thread.isAlive()) writer.failQueued();
    return done;
  }

  /** COMMITs without END as found when the log was opened: what recovery must finish. */
  public List<LogRecord.Commit> unfinished() {
    return unfinishedAtOpen;
  }

  /**
   * COMMITs that had ended when the log was opened, newest last, as many as the retention keeps:
   * so that the coordinator still answers COMMITTED for them after a restart.
   */
  public List<LogRecord.Commit> endedRecently() {
    return endedAtOpen;
  }

  /** False once a write or fsync failed; the coordinator then takes no new transactions. */
  public boolean healthy() {
    return writer.failure == null && !closed;
  }

  public Stats stats() {
    return new Stats(writer.recordCount, writer.batchCount, writer.fsyncCount, writer.unfinishedCount,
        writer.segmentCount);
  }

  public LogConfig config() {
    return config;
  }

  /** Writes what is queued, stops the writer and releases the directory. */
  @Override
  public void close() {
    if (closed) return;
    closed = true;
    writer.closing = true;
    try {
      thread.join(CLOSE_WAIT_MS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    writer.failQueued();
    if (thread.isAlive()) {
      // The writer is stuck in a write or fsync. Releasing the directory now would let a new
      // coordinator replay the log, presume abort for what is queued here, and then see a COMMIT
      // land behind its back (PROTOCOL-TRAPS 1). Keep the lock: it goes when this process does.
      log.error("decision log writer did not stop within {} ms; keeping the data directory locked",
          CLOSE_WAIT_MS);
      return;
    }
    try {
      lock.release();
      lockChannel.close();
    } catch (IOException e) {
      log.warn("releasing the data directory lock failed: {}", e.toString());
    }
  }
}

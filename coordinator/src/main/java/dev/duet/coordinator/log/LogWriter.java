package dev.duet.coordinator.log;

import dev.duet.wire.Check;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Timer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one thread that owns the log file. <b>This is where the log is fsynced.</b> It takes what is
 * queued — never waiting for more when the queue is empty (PROTOCOL-TRAPS 8) — writes the batch
 * with one write, fsyncs once if the batch holds a COMMIT, and only then completes the batch's
 * futures. When a segment has taken {@code segmentBytesMax} bytes it rolls: the COMMITs still
 * without END are copied into a new segment and every older segment is deleted, so one stuck
 * transaction pins nothing (PROTOCOL-TRAPS 6). Any I/O error is fatal to the log.
 */
final class LogWriter implements Runnable {
  private static final Logger log = LoggerFactory.getLogger(LogWriter.class);

  record Pending(LogRecord record, CompletableFuture<Void> done) {}

  interface Meters {
    Counter fsyncs();
    Timer fsyncLatency();
    DistributionSummary batchRecords();
    Counter segmentsDeleted();
  }

  private final LogConfig config;
  private final BlockingQueue<Pending> queue;
  private final Meters meters;
  /** What the log holds: a roll writes it out again, recovery would find it. Writer thread only. */
  private final LogState state;
  private final List<Pending> batch;
  private ByteBuffer buffer = ByteBuffer.allocateDirect(64 * 1024);
  private FileChannel channel;
  private long seq;
  private long bytesSinceRoll;

  volatile boolean closing;
  volatile LogFailedException failure;
  volatile int unfinishedCount;
  volatile int segmentCount;
  volatile long fsyncCount;
  volatile long batchCount;
  volatile long recordCount;

  LogWriter(LogConfig config, BlockingQueue<Pending> queue, Meters meters, FileChannel channel,
      long seq, long size, LogState state, int segmentCount) {
    this.config = config;
    this.queue = queue;
    this.meters = meters;
    this.channel = channel;
    this.seq = seq;
    this.bytesSinceRoll = size;
    this.state = state;
    this.unfinishedCount = state.unfinished.size();
    this.segmentCount = segmentCount;
    this.batch = new ArrayList<>(config.batchRecordsMax());
  }

  @Override
  public void run() {
    try {
      while (true) {
        Pending first = queue.poll(20, TimeUnit.MILLISECONDS);
        if (first == null) {
          if (closing) break;
          continue;
        }
        batch.add(first);
        queue.drainTo(batch, config.batchRecordsMax() - 1);
        writeBatch();
        for (Pending p : batch) p.done().complete(null);
        batch.clear();
        if (bytesSinceRoll >= config.segmentBytesMax()) roll();
      }
      if (config.fsync()) channel.force(false); // END records written since the last COMMIT
    } catch (Throwable t) {
      failure = new LogFailedException("decision log write failed: " + t, t);
      log.error("DECISION LOG FAILED: no new decisions can be made durable; restart the coordinator", t);
      for (Pending p : batch) p.done().completeExceptionally(failure);
      batch.clear();
    } finally {
      failQueued();
      try {
        channel.close();
      } catch (IOException e) {
        log.warn("closing the log segment failed: {}", e.toString());
      }
    }
  }

  /** Fails whatever is still queued; safe from any thread, each append is completed once. */
  void failQueued() {
    IOException why = failure != null ? failure : new LogRefusedException("decision log is closed");
    Pending p;
    while ((p = queue.poll()) != null) p.done().completeExceptionally(why);
  }

  private void writeBatch() throws IOException {
    int bound = 0;
    for (Pending p : batch) bound += RecordCodec.sizeBound(p.record());
    ensureCapacity(bound);
    buffer.clear();
    boolean force = false;
    for (Pending p : batch) {
      int at = buffer.position();
      RecordCodec.encode(p.record(), buffer);
      verify(at, p.record());
      force |= p.record() instanceof LogRecord.Commit;
    }
    buffer.flip();
    int bytes = buffer.remaining();
    Segments.writeFully(channel, buffer);
    bytesSinceRoll += bytes;
    if (force && config.fsync()) {
      long t0 = System.nanoTime();
      channel.force(false);
      meters.fsyncLatency().record(System.nanoTime() - t0, TimeUnit.NANOSECONDS);
      meters.fsyncs().increment();
      fsyncCount++;
    }
    long now = System.currentTimeMillis();
    for (Pending p : batch) state.apply(p.record(), now);
    unfinishedCount = state.unfinished.size();
    meters.batchRecords().record(batch.size());
    batchCount++;
    recordCount += batch.size();
  }

  /** Checks a record right after encoding it, as replay will read it (TigerBeetle's pairing). */
  private void verify(int at, LogRecord expected) {
    ByteBuffer view = buffer.duplicate();
    view.limit(buffer.position()).position(at);
    RecordCodec.Decoded d = RecordCodec.decode(view);
    Check.that(d.ok() && d.record().equals(expected), "an encoded record decodes to itself");
  }

  private void ensureCapacity(int bytes) {
    if (buffer.capacity() >= bytes) return;
    buffer = ByteBuffer.allocateDirect(Integer.highestOneBit(bytes) << 1);
  }

  /**
   * New segment holding every unfinished COMMIT and every recently ended one (COMMIT + END), then
   * delete every older segment.
   */
  private void roll() throws IOException {
    Path dir = config.dir();
    if (config.fsync()) channel.force(false);
    long next = seq + 1;
    FileChannel fresh = Segments.create(dir, next, config.fsync());
    List<LogRecord> carry = new ArrayList<>(state.unfinished.size() + 2 * state.ended.size());
    for (LogRecord.Commit c : state.endedCommits()) {
      carry.add(c);
      carry.add(new LogRecord.End(c.txId()));
    }
    carry.addAll(state.unfinished.values());
    long carried = 0;
    for (int i = 0; i < carry.size(); i += config.batchRecordsMax()) {
      List<LogRecord> chunk = carry.subList(i, Math.min(carry.size(), i + config.batchRecordsMax()));
      int bound = 0;
      for (LogRecord r : chunk) bound += RecordCodec.sizeBound(r);
      ensureCapacity(bound);
      buffer.clear();
      for (LogRecord r : chunk) {
        int at = buffer.position();
        RecordCodec.encode(r, buffer);
        verify(at, r);
      }
      buffer.flip();
      carried += buffer.remaining();
      Segments.writeFully(fresh, buffer);
    }
    if (config.fsync()) fresh.force(false); // the copies are durable before the originals go
    channel.close();
    channel = fresh;
    seq = next;
    bytesSinceRoll = 0;
    int deleted = 0;
    for (Path old : Segments.list(dir)) {
      if (Segments.seqOf(old) < next) {
        Files.delete(old);
        deleted++;
      }
    }
    if (config.fsync()) Segments.syncDirectory(dir);
    meters.segmentsDeleted().increment(deleted);
    segmentCount = 1;
    log.debug("log rolled to segment {}: {} unfinished and {} ended commits carried ({} bytes), {} segments deleted",
        next, state.unfinished.size(), state.ended.size(), carried, deleted);
  }
}

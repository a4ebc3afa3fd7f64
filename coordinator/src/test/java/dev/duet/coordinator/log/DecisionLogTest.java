package dev.duet.coordinator.log;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.duet.wire.TxIds;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The decision log on real files: what survives a reopen, a torn tail, corruption and rolling. */
class DecisionLogTest {
  @TempDir Path dir;

  static LogRecord.Commit commit(String id) {
    return new LogRecord.Commit(id, 1_700_000_000_000L, List.of(
        new LogRecord.Participant("bank-a", "http://127.0.0.1:8081/tx"),
        new LogRecord.Participant("bank-b", "http://127.0.0.1:8082/tx")));
  }

  DecisionLog open(LogConfig config) throws IOException {
    return DecisionLog.open(config, new SimpleMeterRegistry());
  }

  DecisionLog open() throws IOException {
    return open(LogConfig.defaults(dir));
  }

  static void await(CompletableFuture<Void> f) throws Exception {
    f.get(10, TimeUnit.SECONDS);
  }

  static List<String> ids(List<LogRecord.Commit> commits) {
    return commits.stream().map(LogRecord.Commit::txId).toList();
  }

  Path onlySegment() throws IOException {
    List<Path> segments = Segments.list(dir);
    assertThat(segments).hasSize(1);
    return segments.get(0);
  }

  @Test
  void commitsWithoutEndAreWhatRecoveryFindsAfterReopen() throws Exception {
    String a = TxIds.next(1), b = TxIds.next(2), c = TxIds.next(3);
    try (DecisionLog log = open()) {
      assertThat(log.unfinished()).isEmpty();
      await(log.append(commit(a)));
      await(log.append(commit(b)));
      await(log.append(new LogRecord.End(a)));
      await(log.append(commit(c)));
    }
    try (DecisionLog log = open()) {
      assertThat(ids(log.unfinished())).containsExactly(b, c);
      assertThat(log.unfinished().get(0)).isEqualTo(commit(b)); // every participant and URL survives
    }
  }

  @Test
  void aCommitIsFsyncedBeforeItsAppendCompletesAndEndsAreNotForced() throws Exception {
    try (DecisionLog log = open()) {
      String id = TxIds.next(1);
      await(log.append(new LogRecord.End(id)));
      assertThat(log.stats().fsyncs()).as("an END alone is not forced").isZero();
      await(log.append(commit(id)));
      assertThat(log.stats().fsyncs()).isEqualTo(1);
    }
  }

  /**
   * PROTOCOL-TRAPS 8: group commit batches what is queued and never sleeps waiting for more. One
   * append at a time, each must be written on its own at once; a writer that lingered even 5 ms for
   * company would need over 2.5 s for these 500 (fsync off, so the disk does not count here).
   */
  @Test
  void aLoneAppendIsWrittenAtOnceNotHeldBackForABatch() throws Exception {
    try (DecisionLog log = open(LogConfig.defaults(dir).withFsync(false))) {
      long start = System.nanoTime();
      for (int i = 0; i < 500; i++) await(log.append(commit(TxIds.next(i + 1))));
      long ms = (System.nanoTime() - start) / 1_000_000;
      assertThat(log.stats().batches()).as("each lone append is its own batch").isEqualTo(500);
      assertThat(ms).as("500 sequential appends, ms").isLessThan(2_500);
    }
  }

  @Test
  void recentlyEndedCommitsAreRememberedAcrossRollsAndReopens() throws Exception {
    LogConfig config = LogConfig.defaults(dir).withSegmentBytesMax(4096).withEndedRetention(50, 60_000);
    List<String> ended = new ArrayList<>();
    try (DecisionLog log = open(config)) {
      for (int i = 0; i < 300; i++) { // several rolls
        String id = TxIds.next(1 + i);
        await(log.append(commit(id)));
        await(log.append(new LogRecord.End(id)));
        ended.add(id);
      }
      assertThat(log.stats().segments()).isEqualTo(1);
    }
    try (DecisionLog log = open(config)) {
      assertThat(log.unfinished()).isEmpty();
      // The newest 50 are remembered (the retention bound), oldest forgotten first.
      assertThat(ids(log.endedRecently())).containsExactlyElementsOf(ended.subList(250, 300));
    }
  }

  @Test
  void aTornTailIsCutOffAndTheLogGoesOn() throws Exception {
    String a = TxIds.next(1), b = TxIds.next(2);
    try (DecisionLog log = open()) {
      await(log.append(commit(a)));
      await(log.append(commit(b)));
    }
    Path segment = onlySegment();
    long full = Files.size(segment);
    // The crash interrupted the write of b's record: only part of it reached the disk.
    try (RandomAccessFile f = new RandomAccessFile(segment.toFile(), "rw")) {
      f.setLength(full - 7);
    }
    String c = TxIds.next(3);
    try (DecisionLog log = open()) {
      assertThat(ids(log.unfinished())).containsExactly(a);
      await(log.append(commit(c)));
    }
    try (DecisionLog log = open()) {
      assertThat(ids(log.unfinished())).containsExactly(a, c);
    }
  }

  @Test
  void garbageAfterTheLastRecordIsATornTailToo() throws Exception {
    String a = TxIds.next(1);
    try (DecisionLog log = open()) {
      await(log.append(commit(a)));
    }
    Files.write(onlySegment(), new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, java.nio.file.StandardOpenOption.APPEND);
    try (DecisionLog log = open()) {
      assertThat(ids(log.unfinished())).containsExactly(a);
    }
  }

  @Test
  void corruptionInTheMiddleStopsStartUpNamingFileAndOffset() throws Exception {
    String a = TxIds.next(1), b = TxIds.next(2);
    try (DecisionLog log = open()) {
      await(log.append(commit(a)));
      await(log.append(commit(b)));
    }
    Path segment = onlySegment();
    long firstRecord = Segments.HEADER_BYTES;
    try (RandomAccessFile f = new RandomAccessFile(segment.toFile(), "rw")) {
      f.seek(firstRecord + 20); // inside a's txId
      int x = f.read();
      f.seek(firstRecord + 20);
      f.write(x ^ 0x01);
    }
    byte[] before = Files.readAllBytes(segment);
    assertThatThrownBy(this::open)
        .isInstanceOf(LogCorruptedException.class)
        .hasMessageContaining(segment.toString())
        .hasMessageContaining("offset " + firstRecord)
        .hasMessageContaining("CRC");
    // Refused, not repaired: the evidence is left as it was.
    assertThat(Files.readAllBytes(segment)).isEqualTo(before);
  }

  @Test
  void manyConcurrentAppendsAreEachDurableWhenAcknowledgedAndShareFsyncs() throws Exception {
    int threads = 16, perThread = 200;
    List<String> acknowledged = java.util.Collections.synchronizedList(new ArrayList<>());
    try (DecisionLog log = open()) {
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      List<java.util.concurrent.Future<?>> done = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        done.add(pool.submit(() -> {
          for (int i = 0; i < perThread; i++) {
            String id = TxIds.next(System.currentTimeMillis());
            log.append(commit(id)).join();
            acknowledged.add(id);
          }
          return null;
        }));
      }
      for (var f : done) f.get(60, TimeUnit.SECONDS);
      pool.shutdown();
      DecisionLog.Stats stats = log.stats();
      assertThat(stats.records()).isEqualTo((long) threads * perThread);
      assertThat(stats.fsyncs()).as("group commit: one fsync serves many appends").isLessThan(stats.records());
      // Read the file as recovery would, while the log is still open: every acknowledged record is there.
      assertThat(ids(List.copyOf(Replay.run(dir, LogConfig.defaults(dir)).unfinished().values()))).containsExactlyInAnyOrderElementsOf(acknowledged);
    }
  }

  @Test
  void rollingDeletesOldSegmentsButCarriesAStuckCommitForward() throws Exception {
    LogConfig small = LogConfig.defaults(dir).withSegmentBytesMax(4096).withEndedRetention(0, 0);
    String stuck = TxIds.next(1);
    List<String> open = new ArrayList<>();
    try (DecisionLog log = open(small)) {
      await(log.append(commit(stuck))); // a participant that is down for a day
      for (int i = 0; i < 500; i++) {
        String id = TxIds.next(2 + i);
        await(log.append(commit(id)));
        if (i % 100 == 99) open.add(id); else await(log.append(new LogRecord.End(id)));
      }
      assertThat(Segments.list(dir)).hasSizeLessThanOrEqualTo(2);
      assertThat(log.stats().unfinished()).isEqualTo(1 + open.size());
    }
    assertThat(Files.list(dir).mapToLong(p -> p.toFile().length()).sum()).isLessThan(3 * 4096 + 2 * 4096);
    try (DecisionLog log = open(small)) {
      List<String> expected = new ArrayList<>(List.of(stuck));
      expected.addAll(open);
      assertThat(ids(log.unfinished())).containsExactlyInAnyOrderElementsOf(expected);
    }
  }

  @Test
  void aSegmentCutOffWhileBeingCreatedIsStartedAfresh() throws Exception {
    String a = TxIds.next(1);
    try (DecisionLog log = open()) {
      await(log.append(commit(a)));
    }
    Files.write(Segments.path(dir, 2), new byte[] {'D', 'U', 'E'}); // crash right after creating it
    String b = TxIds.next(2);
    try (DecisionLog log = open()) {
      assertThat(ids(log.unfinished())).containsExactly(a);
      await(log.append(commit(b)));
    }
    try (DecisionLog log = open()) {
      assertThat(ids(log.unfinished())).containsExactly(a, b);
    }
  }

  @Test
  void aSecondCoordinatorOnTheSameDirectoryIsRefused() throws Exception {
    try (DecisionLog log = open()) {
      assertThatThrownBy(this::open).isInstanceOf(IOException.class).hasMessageContaining("in use");
    }
  }

  @Test
  void appendsPastTheQueueBoundAreRefusedNotQueued() throws Exception {
    try (DecisionLog log = open(LogConfig.defaults(dir).withPendingAppendsMax(1))) {
      List<CompletableFuture<Void>> all = new ArrayList<>();
      for (int i = 0; i < 20_000; i++) all.add(log.append(commit(TxIds.next(i + 1))));
      long refused = all.stream().filter(f -> {
        try {
          f.get(10, TimeUnit.SECONDS);
          return false;
        } catch (Exception e) {
          assertThat(e.getCause()).isInstanceOf(LogFullException.class);
          return true;
        }
      }).count();
      assertThat(refused).isPositive();
      assertThat(log.stats().records()).isEqualTo(all.size() - refused);
      assertThat(log.healthy()).isTrue();
    }
  }

  @Test
  void appendsAfterCloseAreRefused() throws Exception {
    DecisionLog log = open();
    log.close();
    assertThatThrownBy(() -> log.append(commit(TxIds.next(1))).get(5, TimeUnit.SECONDS))
        .hasCauseInstanceOf(LogRefusedException.class);
    assertThat(log.healthy()).isFalse();
  }
}

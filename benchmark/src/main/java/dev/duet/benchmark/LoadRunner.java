package dev.duet.benchmark;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * Closed loop: {@code concurrency} threads, each calling {@link TransferSystem#transfer} again as soon as the
 * previous call returns, with accounts drawn uniformly at random. The same threads serve every window of a cell,
 * so per-thread connections survive from warm-up into the measured window.
 */
final class LoadRunner implements AutoCloseable {

    /** A window stops early once this many calls have failed: a broken system must not spin for minutes. */
    static final long FAILURES_MAX_PER_WINDOW = 10_000;
    /** How many failure messages a window keeps for the report. */
    static final int FAILURE_SAMPLES_MAX = 5;

    /** What one window measured. Latency covers committed transfers only, in microseconds. */
    record Window(long committed, long aborted, long failures, long elapsedNanos, Histogram latencyUs,
            List<String> failureSamples) {
        double transfersPerSecond() {
            return elapsedNanos == 0 ? 0 : committed * 1e9 / elapsedNanos;
        }
    }

    private final TransferSystem system;
    private final int concurrency;
    private final ExecutorService workers;
    /** Money moved by committed transfers over all windows: what the banks must show at the end. */
    private final AtomicLong committedAmount = new AtomicLong();

    LoadRunner(TransferSystem system, int concurrency) {
        this.system = system;
        this.concurrency = concurrency;
        this.workers = Executors.newFixedThreadPool(concurrency, r -> {
            Thread t = new Thread(r, "transfer-worker");
            t.setDaemon(true);
            return t;
        });
    }

    long committedAmount() {
        return committedAmount.get();
    }

    Window run(Duration duration) throws Exception {
        Recorder recorder = new Recorder(3);
        LongAdder committed = new LongAdder();
        LongAdder aborted = new LongAdder();
        LongAdder failures = new LongAdder();
        List<String> samples = Collections.synchronizedList(new ArrayList<>());
        long start = System.nanoTime();
        long end = start + duration.toNanos();
        List<Future<?>> running = new ArrayList<>();
        for (int i = 0; i < concurrency; i++) {
            running.add(workers.submit(() -> {
                ThreadLocalRandom rnd = ThreadLocalRandom.current();
                while (System.nanoTime() < end && failures.sum() < FAILURES_MAX_PER_WINDOW) {
                    long from = rnd.nextLong(1, Workload.ACCOUNTS + 1);
                    long to = rnd.nextLong(1, Workload.ACCOUNTS + 1);
                    long amount = rnd.nextLong(1, Workload.AMOUNT_MAX + 1);
                    long t0 = System.nanoTime();
                    try {
                        if (system.transfer(from, to, amount)) {
                            recorder.recordValue(Math.max(1, (System.nanoTime() - t0) / 1_000));
                            committedAmount.addAndGet(amount);
                            committed.increment();
                        } else {
                            aborted.increment();
                        }
                    } catch (Exception e) {
                        failures.increment();
                        if (samples.size() < FAILURE_SAMPLES_MAX) {
                            samples.add(e.toString());
                        }
                    }
                }
            }));
        }
        for (Future<?> f : running) {
            f.get();
        }
        long elapsed = System.nanoTime() - start;
        return new Window(committed.sum(), aborted.sum(), failures.sum(), elapsed, recorder.getIntervalHistogram(),
                List.copyOf(samples));
    }

    @Override
    public void close() {
        workers.shutdownNow();
    }
}

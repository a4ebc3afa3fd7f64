package dev.duet.benchmark;

import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * One resource per worker thread (a connection pair), created on first use and closed all together at the end.
 * The harness runs a fixed set of threads, so this is a pool of exactly "concurrency" resources with no contention.
 */
final class PerThread<T extends AutoCloseable> implements AutoCloseable {

    interface Factory<T> {
        T create() throws Exception;
    }

    /** Bound on resources, so a harness bug that spawns threads cannot open connections without end. */
    private final int resourcesMax;
    private final Factory<T> factory;
    private final ThreadLocal<T> local = new ThreadLocal<>();
    private final Queue<T> all = new ConcurrentLinkedQueue<>();

    PerThread(int resourcesMax, Factory<T> factory) {
        this.resourcesMax = resourcesMax;
        this.factory = factory;
    }

    T get() throws Exception {
        T t = local.get();
        if (t == null) {
            if (all.size() >= resourcesMax) {
                throw new IllegalStateException("more than " + resourcesMax + " threads asked for a resource");
            }
            t = factory.create();
            local.set(t);
            all.add(t);
        }
        return t;
    }

    @Override
    public void close() {
        for (T t; (t = all.poll()) != null; ) {
            try {
                t.close();
            } catch (Exception e) {
                // Closing at the end of a run: nothing left to protect, and the run's result is already known.
            }
        }
    }
}

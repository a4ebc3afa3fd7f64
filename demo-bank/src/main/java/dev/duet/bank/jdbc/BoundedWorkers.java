package dev.duet.bank.jdbc;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A fixed pool of threads for blocking JDBC work, with a bound on the work queued or running: past
 * it a call fails at once with {@link OverloadedException} (the services answer 503), so a slow
 * database pushes back instead of piling up requests.
 */
public final class BoundedWorkers implements AutoCloseable {
  private final WorkerExecutor executor;
  private final AtomicInteger pending = new AtomicInteger();
  private final int pendingMax;

  public BoundedWorkers(Vertx vertx, String name, int threads, int pendingMax) {
    this.executor = vertx.createSharedWorkerExecutor(name, threads);
    this.pendingMax = pendingMax;
  }

  public <T> Future<T> call(Callable<T> work) {
    if (pending.incrementAndGet() > pendingMax) {
      pending.decrementAndGet();
      return Future.failedFuture(new OverloadedException(pendingMax + " database calls are already queued"));
    }
    return executor.executeBlocking(work, false).andThen(ar -> pending.decrementAndGet());
  }

  @Override
  public void close() {
    executor.close();
  }

  public static final class OverloadedException extends RuntimeException {
    public OverloadedException(String message) {
      super(message, null, false, false);
    }
  }
}

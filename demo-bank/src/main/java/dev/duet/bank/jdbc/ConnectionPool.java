package dev.duet.bank.jdbc;

import dev.duet.wire.Check;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Plain (non-XA) connections for reads and local transactions, at most {@code size} of them. Sized
 * like the worker pool that uses it, so a borrow waits only while a broken connection is replaced.
 */
public final class ConnectionPool implements AutoCloseable {
  /** How long a borrow waits for a free connection before failing the call. */
  private static final long BORROW_WAIT_MS = 10_000;

  public interface Factory {
    Connection open() throws SQLException;
  }

  public interface Work<T> {
    T run(Connection c) throws SQLException;
  }

  private final Factory factory;
  private final ArrayBlockingQueue<Connection> idle;
  private final java.util.concurrent.Semaphore permits;

  public ConnectionPool(Factory factory, int size) {
    Check.that(size > 0, "connection pool size positive");
    this.factory = factory;
    this.idle = new ArrayBlockingQueue<>(size);
    this.permits = new java.util.concurrent.Semaphore(size);
  }

  /** Runs {@code work} with a connection in auto-commit mode; the work may open its own transaction. */
  public <T> T with(Work<T> work) throws SQLException {
    try {
      if (!permits.tryAcquire(BORROW_WAIT_MS, TimeUnit.MILLISECONDS)) {
        throw new SQLException("no free database connection within " + BORROW_WAIT_MS + " ms");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SQLException("interrupted waiting for a connection");
    }
    Connection c = null;
    boolean healthy = false;
    try {
      c = idle.poll();
      if (c == null) c = factory.open();
      T result = work.run(c);
      healthy = c.getAutoCommit();
      return result;
    } catch (SQLException e) {
      // A connection left mid-transaction or broken is not given back.
      healthy = false;
      throw e;
    } finally {
      if (c != null) {
        if (healthy) {
          idle.offer(c);
        } else {
          try {
            c.close();
          } catch (SQLException ignored) {
            // it is gone either way
          }
        }
      }
      permits.release();
    }
  }

  /** Runs {@code work} in one local transaction: committed if it returns, rolled back if it throws. */
  public <T> T inTransaction(Work<T> work) throws SQLException {
    return with(c -> {
      c.setAutoCommit(false);
      try {
        T result = work.run(c);
        c.commit();
        c.setAutoCommit(true);
        return result;
      } catch (SQLException | RuntimeException e) {
        try {
          c.rollback();
        } catch (SQLException ignored) {
          // the connection is dropped below
        }
        throw e;
      }
    });
  }

  @Override
  public void close() {
    Connection c;
    while ((c = idle.poll()) != null) {
      try {
        c.close();
      } catch (SQLException ignored) {
        // closing anyway
      }
    }
  }
}

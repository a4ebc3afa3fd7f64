package dev.duet.participant.support;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.XAConnection;
import javax.sql.XADataSource;
import javax.transaction.xa.XAException;
import javax.transaction.xa.XAResource;
import javax.transaction.xa.Xid;
import org.h2.jdbcx.JdbcDataSource;
import org.postgresql.xa.PGXADataSource;

/**
 * A real database for tests: H2 in file mode, or PostgreSQL embedded (one server per JVM, started on
 * first use, fsync on, max_prepared_transactions 20). Each instance owns a fresh table {@code acct}
 * with one row (id 1, balance 100).
 */
public abstract class TestDb implements AutoCloseable {
  private static final AtomicInteger SEQ = new AtomicInteger();

  public final String table = "acct_" + ProcessHandle.current().pid() + "_" + SEQ.incrementAndGet();

  public abstract String kind();

  public abstract XADataSource xaDataSource();

  /** A JDBC URL that a child process can open. */
  public abstract String jdbcUrl();

  public abstract Connection plain() throws SQLException;

  @Override
  public String toString() {
    return kind();
  }

  public TestDb init() throws SQLException {
    try (Connection c = plain(); Statement st = c.createStatement()) {
      st.execute("CREATE TABLE " + table + " (id INT PRIMARY KEY, balance BIGINT NOT NULL)");
      st.execute("INSERT INTO " + table + " VALUES (1, 100)");
    }
    return this;
  }

  public long balance() throws SQLException {
    try (Connection c = plain(); Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT balance FROM " + table + " WHERE id = 1")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  /** Every prepared XA branch the database lists (for any participant). */
  public List<Xid> preparedXids() throws SQLException, XAException {
    XAConnection xc = xaDataSource().getXAConnection();
    try {
      List<Xid> out = new ArrayList<>();
      for (Xid x : xc.getXAResource().recover(XAResource.TMSTARTRSCAN | XAResource.TMENDRSCAN)) out.add(x);
      return out;
    } finally {
      xc.close();
    }
  }

  @Override
  public void close() {}

  // ---------------------------------------------------------------- H2

  public static TestDb h2(Path dir) {
    return new H2(dir.resolve("h2-" + SEQ.incrementAndGet()));
  }

  public static final class H2 extends TestDb {
    private final String url;
    private final Connection keepOpen;

    H2(Path file) {
      // WRITE_DELAY=0: a prepared or committed branch is in the file when the call returns.
      this.url = "jdbc:h2:file:" + file.toAbsolutePath() + ";WRITE_DELAY=0;LOCK_TIMEOUT=2000";
      try {
        // Keeps the database open for the test's life, as a service's pool would (h2database#2347
        // is about exactly this situation).
        this.keepOpen = plain();
      } catch (SQLException e) {
        throw new IllegalStateException(e);
      }
    }

    @Override
    public String kind() {
      return "H2";
    }

    @Override
    public String jdbcUrl() {
      return url;
    }

    @Override
    public XADataSource xaDataSource() {
      JdbcDataSource ds = new JdbcDataSource();
      ds.setURL(url);
      ds.setUser("sa");
      return ds;
    }

    @Override
    public Connection plain() throws SQLException {
      return java.sql.DriverManager.getConnection(url, "sa", "");
    }

    @Override
    public void close() {
      try {
        keepOpen.close();
      } catch (SQLException ignored) {
        // Test teardown.
      }
    }
  }

  // ---------------------------------------------------------------- PostgreSQL

  private static EmbeddedPostgres postgres;

  /** The JVM's embedded PostgreSQL, started on first use. */
  public static synchronized EmbeddedPostgres postgres() {
    if (postgres == null) {
      try {
        postgres = startPostgres(20);
      } catch (Exception e) {
        throw new IllegalStateException("could not start embedded PostgreSQL", e);
      }
      EmbeddedPostgres pg = postgres;
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        try {
          pg.close();
        } catch (Exception ignored) {
          // JVM exit.
        }
      }));
    }
    return postgres;
  }

  public static EmbeddedPostgres startPostgres(int maxPreparedTransactions) throws Exception {
    Path dir = Files.createTempDirectory("duet-sdk-pg");
    return EmbeddedPostgres.builder()
        .setDataDirectory(dir)
        .setCleanDataDirectory(true)
        .setServerConfig("max_prepared_transactions", Integer.toString(maxPreparedTransactions))
        .setServerConfig("fsync", "on")
        .setServerConfig("synchronous_commit", "on")
        .setServerConfig("lock_timeout", "2000")
        .start();
  }

  public static TestDb pg() {
    return new Pg(postgres().getPort());
  }

  public static final class Pg extends TestDb {
    private final int port;

    public Pg(int port) {
      this.port = port;
    }

    @Override
    public String kind() {
      return "PostgreSQL";
    }

    @Override
    public String jdbcUrl() {
      return "jdbc:postgresql://localhost:" + port + "/postgres?user=postgres";
    }

    @Override
    public XADataSource xaDataSource() {
      return pgXa(port);
    }

    @Override
    public Connection plain() throws SQLException {
      return java.sql.DriverManager.getConnection(jdbcUrl());
    }
  }

  public static PGXADataSource pgXa(int port) {
    PGXADataSource ds = new PGXADataSource();
    ds.setServerNames(new String[] {"localhost"});
    ds.setPortNumbers(new int[] {port});
    ds.setDatabaseName("postgres");
    ds.setUser("postgres");
    return ds;
  }
}

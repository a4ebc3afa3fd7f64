package dev.duet.bank.account;

import dev.duet.bank.jdbc.ConnectionPool;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import javax.sql.XADataSource;
import org.h2.jdbcx.JdbcDataSource;
import org.postgresql.xa.PGXADataSource;

/**
 * A bank's own database: H2 in a file under the data directory, or PostgreSQL given a JDBC URL. The
 * XA data source is for the participant SDK (debits and credits happen in XA branches); the plain
 * connections are for reads, the schema and the seed.
 */
public record BankDatabase(XADataSource xa, ConnectionPool.Factory plain, String description, boolean h2) {

  /**
   * How long a debit or credit waits for a row lock. Two transfers crossing the same two accounts
   * in opposite directions at two banks wait on each other across databases, which neither
   * database can see as a deadlock: the lock timeout breaks it (the transfer aborts, retry it).
   */
  public static final int LOCK_TIMEOUT_MS = 2000;

  /** Accounts inserted per batch when seeding. */
  private static final int SEED_BATCH = 500;

  public static BankDatabase h2(Path dataDir) throws java.io.IOException {
    Files.createDirectories(dataDir);
    JdbcDataSource ds = new JdbcDataSource();
    // No settings in the URL: H2 applies them on every connection it opens, and the participant
    // opens one per branch; database-wide settings are set once in prepare() instead.
    ds.setURL("jdbc:h2:file:" + dataDir.toAbsolutePath() + "/bank");
    ds.setUser("sa");
    ds.setPassword("");
    return new BankDatabase(ds, ds::getConnection, "H2 file " + dataDir.toAbsolutePath() + "/bank.mv.db", true);
  }

  public static BankDatabase postgres(String jdbcUrl) {
    PGXADataSource ds = new PGXADataSource();
    ds.setUrl(jdbcUrl);
    if (ds.getOptions() == null) ds.setOptions("-c lock_timeout=" + LOCK_TIMEOUT_MS);
    String shown = jdbcUrl.replaceAll("(?i)password=[^&]*", "password=***");
    return new BankDatabase(ds, ds::getConnection, "PostgreSQL " + shown, false);
  }

  /** Creates the tables if missing and seeds the accounts on first start; returns the accounts held. */
  public long prepare(ConnectionPool pool, long accounts, long initialBalance) throws SQLException {
    if (h2) {
      pool.with(c -> {
        try (Statement s = c.createStatement()) {
          // WRITE_DELAY 0: a prepared or committed branch reaches the file before the call
          // returns (H2 otherwise writes in the background; a killed process would lose the last
          // half second). Both settings are stored in the database and apply to every session.
          s.execute("SET WRITE_DELAY 0");
          s.execute("SET DEFAULT_LOCK_TIMEOUT " + LOCK_TIMEOUT_MS);
        }
        return null;
      });
    }
    return pool.inTransaction(c -> {
      try (Statement s = c.createStatement()) {
        s.execute("CREATE TABLE IF NOT EXISTS accounts (id BIGINT PRIMARY KEY, balance BIGINT NOT NULL,"
            + " CONSTRAINT balance_not_negative CHECK (balance >= 0))");
        // One row per (transaction, account): a transfer between two accounts of the same bank
        // writes two rows in one branch; the same account twice in one transaction is refused.
        s.execute("CREATE TABLE IF NOT EXISTS ledger (tx_id VARCHAR(26) NOT NULL, account BIGINT NOT NULL,"
            + " amount BIGINT NOT NULL, PRIMARY KEY (tx_id, account))");
      }
      long held;
      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM accounts")) {
        rs.next();
        held = rs.getLong(1);
      }
      if (held > 0) return held;
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO accounts (id, balance) VALUES (?, ?)")) {
        for (long id = 1; id <= accounts; id++) {
          ps.setLong(1, id);
          ps.setLong(2, initialBalance);
          ps.addBatch();
          if (id % SEED_BATCH == 0) ps.executeBatch();
        }
        ps.executeBatch();
      }
      return accounts;
    });
  }

  static boolean isLockTimeout(SQLException e) {
    String state = e.getSQLState();
    // H2: LOCK_TIMEOUT_1 (50200) and deadlock (40001); PostgreSQL: lock_not_available, deadlock, serialization.
    return e.getErrorCode() == 50200 || "HYT00".equals(state) || "40001".equals(state)
        || "55P03".equals(state) || "40P01".equals(state);
  }
}

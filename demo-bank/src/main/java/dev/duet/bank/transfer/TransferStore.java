package dev.duet.bank.transfer;

import dev.duet.bank.jdbc.BoundedWorkers;
import dev.duet.bank.jdbc.ConnectionPool;
import io.vertx.core.Future;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.h2.jdbcx.JdbcDataSource;

/**
 * The transfer service's own records, in an H2 file: every transfer with its transaction id and the
 * reply it got, and for requests with an {@code Idempotency-Key} the key and a digest of the
 * request. A keyed transfer's row is written PENDING before any money moves, so a retry after a
 * crash finds the transaction to ask the coordinator about (PROTOCOL-TRAPS 15).
 */
public final class TransferStore implements AutoCloseable {
  public static final String PENDING = "PENDING";

  /** A transfer as recorded. {@code reply} is the JSON answered, null while PENDING. */
  public record Row(String id, String idempotencyKey, String requestHash, String txId, Transfer transfer,
      String status, int httpStatus, String reply, long createdAt) {}

  private final ConnectionPool pool;
  private final BoundedWorkers workers;

  public TransferStore(Path dataDir, BoundedWorkers workers, int connections) throws Exception {
    Files.createDirectories(dataDir);
    JdbcDataSource ds = new JdbcDataSource();
    // WRITE_DELAY=0: each commit reaches the file (the OS page cache) before the call returns, so
    // a PENDING row survives the process being killed the moment after.
    ds.setURL("jdbc:h2:file:" + dataDir.toAbsolutePath() + "/transfers;WRITE_DELAY=0");
    ds.setUser("sa");
    ds.setPassword("");
    this.pool = new ConnectionPool(ds::getConnection, connections);
    this.workers = workers;
    pool.with(c -> {
      try (Statement s = c.createStatement()) {
        s.execute("CREATE TABLE IF NOT EXISTS transfers (id VARCHAR(26) PRIMARY KEY,"
            + " idempotency_key VARCHAR(255) UNIQUE, request_hash VARCHAR(64), tx_id VARCHAR(26),"
            + " from_bank VARCHAR(64) NOT NULL, from_account BIGINT NOT NULL, to_bank VARCHAR(64) NOT NULL,"
            + " to_account BIGINT NOT NULL, amount BIGINT NOT NULL, status VARCHAR(16) NOT NULL,"
            + " http_status INT NOT NULL, reply VARCHAR(8192), created_at BIGINT NOT NULL)");
      }
      return null;
    });
  }

  public Future<Row> find(String id) {
    return workers.call(() -> pool.with(c -> one(c, "SELECT * FROM transfers WHERE id = ?", id)));
  }

  public Future<Row> findByKey(String key) {
    return workers.call(() -> pool.with(c -> one(c, "SELECT * FROM transfers WHERE idempotency_key = ?", key)));
  }

  /** Inserts a row; fails with {@link DuplicateKeyException} if its idempotency key is taken. */
  public Future<Void> insert(Row r) {
    return workers.call(() -> pool.with(c -> {
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO transfers (id, idempotency_key, request_hash, tx_id,"
          + " from_bank, from_account, to_bank, to_account, amount, status, http_status, reply, created_at)"
          + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
        ps.setString(1, r.id());
        ps.setString(2, r.idempotencyKey());
        ps.setString(3, r.requestHash());
        ps.setString(4, r.txId());
        ps.setString(5, r.transfer().from().bank());
        ps.setLong(6, r.transfer().from().account());
        ps.setString(7, r.transfer().to().bank());
        ps.setLong(8, r.transfer().to().account());
        ps.setLong(9, r.transfer().amount());
        ps.setString(10, r.status());
        ps.setInt(11, r.httpStatus());
        ps.setString(12, r.reply());
        ps.setLong(13, r.createdAt());
        ps.executeUpdate();
      } catch (SQLException e) {
        if ("23505".equals(e.getSQLState())) throw new DuplicateKeyException();
        throw e;
      }
      return null;
    }));
  }

  /** Records the outcome of a PENDING transfer. */
  public Future<Void> finish(String id, String status, int httpStatus, String reply) {
    return workers.call(() -> pool.with(c -> {
      try (PreparedStatement ps = c.prepareStatement(
          "UPDATE transfers SET status = ?, http_status = ?, reply = ? WHERE id = ? AND status = ?")) {
        ps.setString(1, status);
        ps.setInt(2, httpStatus);
        ps.setString(3, reply);
        ps.setString(4, id);
        ps.setString(5, PENDING);
        ps.executeUpdate();
      }
      return null;
    }));
  }

  private static Row one(java.sql.Connection c, String sql, String arg) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setString(1, arg);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) return null;
        Transfer t = new Transfer(new Transfer.Side(rs.getString("from_bank"), rs.getLong("from_account")),
            new Transfer.Side(rs.getString("to_bank"), rs.getLong("to_account")), rs.getLong("amount"));
        return new Row(rs.getString("id"), rs.getString("idempotency_key"), rs.getString("request_hash"),
            rs.getString("tx_id"), t, rs.getString("status"), rs.getInt("http_status"), rs.getString("reply"),
            rs.getLong("created_at"));
      }
    }
  }

  @Override
  public void close() {
    pool.close();
  }

  public static final class DuplicateKeyException extends SQLException {
    public DuplicateKeyException() {
      super("idempotency key already recorded", "23505");
    }
  }
}

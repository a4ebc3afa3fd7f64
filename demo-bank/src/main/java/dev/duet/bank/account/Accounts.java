package dev.duet.bank.account;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/** The bank's SQL. Debits and credits run inside an XA branch; the rest on plain connections. */
public final class Accounts {
  private Accounts() {}

  public enum Move {
    DEBIT,
    CREDIT
  }

  public enum Result {
    DONE,
    NO_ACCOUNT,
    INSUFFICIENT_FUNDS,
    /** This transaction already moved money on this account. */
    DUPLICATE,
    /** The credit would take the balance past what a BIGINT holds. */
    OVERFLOW
  }

  /**
   * Moves {@code amount} on {@code account} and writes its ledger row, in the caller's branch. The
   * ledger row goes in first: if it is a duplicate nothing else happens; if the balance change then
   * fails, the row is taken out again, so whatever the caller does next the branch holds either
   * both or neither.
   */
  public static Result move(Connection c, String txId, long account, long amount, Move move) throws SQLException {
    long signed = move == Move.DEBIT ? -amount : amount;
    try (PreparedStatement ps = c.prepareStatement("INSERT INTO ledger (tx_id, account, amount) VALUES (?, ?, ?)")) {
      ps.setString(1, txId);
      ps.setLong(2, account);
      ps.setLong(3, signed);
      ps.executeUpdate();
    } catch (SQLException e) {
      if (isDuplicate(e)) return Result.DUPLICATE;
      throw e;
    }
    Result result;
    try {
      result = updateBalance(c, account, amount, move);
    } catch (SQLException e) {
      if (!"22003".equals(e.getSQLState())) throw e;
      result = Result.OVERFLOW;
    }
    if (result != Result.DONE) {
      try (PreparedStatement ps = c.prepareStatement("DELETE FROM ledger WHERE tx_id = ? AND account = ?")) {
        ps.setString(1, txId);
        ps.setLong(2, account);
        ps.executeUpdate();
      } catch (SQLException e) {
        // PostgreSQL refuses any statement after a failed one in a transaction: the branch can
        // then only roll back (its prepare fails), so there is nothing left to undo.
        if (!"25P02".equals(e.getSQLState())) throw e;
      }
    }
    return result;
  }

  private static Result updateBalance(Connection c, long account, long amount, Move move) throws SQLException {
    String sql = move == Move.DEBIT
        ? "UPDATE accounts SET balance = balance - ? WHERE id = ? AND balance >= ?"
        : "UPDATE accounts SET balance = balance + ? WHERE id = ?";
    int rows;
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setLong(1, amount);
      ps.setLong(2, account);
      if (move == Move.DEBIT) ps.setLong(3, amount);
      rows = ps.executeUpdate();
    }
    if (rows == 1) return Result.DONE;
    return balance(c, account) == null ? Result.NO_ACCOUNT : Result.INSUFFICIENT_FUNDS;
  }

  /** The committed balance, or null for an unknown account. */
  public static Long balance(Connection c, long account) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT balance FROM accounts WHERE id = ?")) {
      ps.setLong(1, account);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getLong(1) : null;
      }
    }
  }

  public record Totals(long accounts, long totalBalance, long ledgerCount, long ledgerSum) {}

  public static Totals totals(Connection c) throws SQLException {
    long accounts, total, count, sum;
    try (PreparedStatement ps = c.prepareStatement("SELECT COUNT(*), COALESCE(SUM(balance), 0) FROM accounts");
        ResultSet rs = ps.executeQuery()) {
      rs.next();
      accounts = rs.getLong(1);
      total = rs.getLong(2);
    }
    try (PreparedStatement ps = c.prepareStatement("SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM ledger");
        ResultSet rs = ps.executeQuery()) {
      rs.next();
      count = rs.getLong(1);
      sum = rs.getLong(2);
    }
    return new Totals(accounts, total, count, sum);
  }

  public record Entry(String txId, long account, long amount) {}

  /** Ledger rows in (txId, account) order, starting at {@code fromTxId} (inclusive) after the cursor. */
  public static List<Entry> ledger(Connection c, String fromTxId, String afterTxId, long afterAccount, int limit)
      throws SQLException {
    String sql = afterTxId == null
        ? "SELECT tx_id, account, amount FROM ledger WHERE tx_id >= ? ORDER BY tx_id, account LIMIT ?"
        : "SELECT tx_id, account, amount FROM ledger WHERE tx_id >= ? AND (tx_id > ? OR (tx_id = ? AND account > ?))"
            + " ORDER BY tx_id, account LIMIT ?";
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      int i = 1;
      ps.setString(i++, fromTxId == null ? "" : fromTxId);
      if (afterTxId != null) {
        ps.setString(i++, afterTxId);
        ps.setString(i++, afterTxId);
        ps.setLong(i++, afterAccount);
      }
      ps.setInt(i, limit);
      List<Entry> out = new ArrayList<>();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) out.add(new Entry(rs.getString(1), rs.getLong(2), rs.getLong(3)));
      }
      return out;
    }
  }

  /** Committed ledger rows of one transaction. */
  public static List<Entry> ledgerOf(Connection c, String txId) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT tx_id, account, amount FROM ledger WHERE tx_id = ? ORDER BY account")) {
      ps.setString(1, txId);
      List<Entry> out = new ArrayList<>();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) out.add(new Entry(rs.getString(1), rs.getLong(2), rs.getLong(3)));
      }
      return out;
    }
  }

  static boolean isDuplicate(SQLException e) {
    return "23505".equals(e.getSQLState()) || e.getErrorCode() == 23505;
  }
}

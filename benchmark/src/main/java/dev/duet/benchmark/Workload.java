package dev.duet.benchmark;

/** The fixed workload, identical for every system: the schema, the seed and the two statements of a transfer. */
public final class Workload {

    public static final int ACCOUNTS = 10_000;
    public static final long INITIAL_BALANCE = 1_000_000L;
    /** Amounts are drawn uniformly from 1..amountMax; far below a balance, so refusals are rare but possible. */
    public static final long AMOUNT_MAX = 100L;

    public static final String CREATE_TABLE =
            "CREATE TABLE accounts (id BIGINT PRIMARY KEY, balance BIGINT NOT NULL)";
    public static final String INSERT_ACCOUNT = "INSERT INTO accounts (id, balance) VALUES (?, ?)";
    /** Refuses by updating no row when the balance is too low; the caller must then abort. */
    public static final String DEBIT = "UPDATE accounts SET balance = balance - ? WHERE id = ? AND balance >= ?";
    public static final String CREDIT = "UPDATE accounts SET balance = balance + ? WHERE id = ?";

    private Workload() {}

    /** Binds and runs the debit; true when exactly one row changed (the money was there). */
    static boolean debit(java.sql.Connection con, long id, long amount) throws java.sql.SQLException {
        try (var ps = con.prepareStatement(DEBIT)) {
            ps.setLong(1, amount);
            ps.setLong(2, id);
            ps.setLong(3, amount);
            return ps.executeUpdate() == 1;
        }
    }

    /** Binds and runs the credit; true when exactly one row changed (the account exists). */
    static boolean credit(java.sql.Connection con, long id, long amount) throws java.sql.SQLException {
        try (var ps = con.prepareStatement(CREDIT)) {
            ps.setLong(1, amount);
            ps.setLong(2, id);
            return ps.executeUpdate() == 1;
        }
    }
}

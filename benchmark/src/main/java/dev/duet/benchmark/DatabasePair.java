package dev.duet.benchmark;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import javax.sql.XADataSource;

/**
 * Two separate bank databases of one kind, created fresh and seeded with the {@link Workload}, plus the money checks
 * that every measured window must pass.
 *
 * <p>In-process systems use {@link #xaDataSource}/{@link #dataSource}; a system that runs in other processes (Duet's
 * banks) connects with {@link #externalJdbcUrl}.
 */
public abstract class DatabasePair implements AutoCloseable {

    public static final List<String> KINDS = List.of("h2", "pg");

    private final Path workDir;

    protected DatabasePair(Path workDir) {
        this.workDir = workDir;
    }

    /** Creates both databases under {@code workDir}, starts them if they are servers, and seeds them. */
    public static DatabasePair open(String kind, Path workDir) throws Exception {
        DatabasePair pair = switch (kind) {
            case "h2" -> H2Pair.start(workDir);
            case "pg" -> PostgresPair.start(workDir);
            default -> throw new IllegalArgumentException("unknown database kind '" + kind + "'; known: " + KINDS);
        };
        try {
            pair.seed(Bank.A);
            pair.seed(Bank.B);
        } catch (Exception e) {
            pair.close();
            throw e;
        }
        return pair;
    }

    /** "h2" or "pg". */
    public abstract String kind();

    /** This cell's scratch directory; systems put their own logs under it. */
    public Path workDir() {
        return workDir;
    }

    public abstract XADataSource xaDataSource(Bank bank);

    /** Plain (non-XA) connections with the same durability settings. */
    public abstract DataSource dataSource(Bank bank);

    /** A JDBC URL another OS process can use to reach this bank over loopback; user {@link #user()}. */
    public abstract String externalJdbcUrl(Bank bank) throws Exception;

    public abstract String user();

    public abstract String password();

    /** The database server's own version string, for the report. */
    public abstract String serverVersion() throws SQLException;

    /** The durability-relevant settings as the running database reports them (read back, not assumed). */
    public abstract Map<String, String> settings() throws SQLException;

    /** Global transaction ids that one bank holds prepared (in doubt) right now. */
    public abstract List<String> preparedTransactions(Bank bank) throws SQLException;

    /** Sum of balances, number of accounts, and number of negative balances in one bank. */
    public record Totals(long balanceSum, long accounts, long negativeBalances) {}

    public Totals totals(Bank bank) throws SQLException {
        try (Connection con = dataSource(bank).getConnection();
                Statement st = con.createStatement();
                ResultSet rs = st.executeQuery("SELECT COALESCE(SUM(balance), 0), COUNT(*),"
                        + " COALESCE(SUM(CASE WHEN balance < 0 THEN 1 ELSE 0 END), 0) FROM accounts")) {
            rs.next();
            return new Totals(rs.getLong(1), rs.getLong(2), rs.getLong(3));
        }
    }

    /** Result of the money checks: ok, or every problem found, each in a sentence. */
    public record CheckResult(boolean ok, List<String> problems) {
        public String summary() {
            return ok ? "ok" : String.join("; ", problems);
        }
    }

    /**
     * Checks the invariants a user would check after a run: the total is unchanged, each bank moved by exactly the
     * committed amount, no balance is negative, and no transaction is left prepared. Call it at quiescence only: two
     * databases have no common snapshot, so a read between two branch commits sees money in flight.
     */
    public CheckResult check(long committedAmount) throws SQLException {
        long bankTotal = Workload.ACCOUNTS * Workload.INITIAL_BALANCE;
        Totals a = totals(Bank.A);
        Totals b = totals(Bank.B);
        List<String> problems = new ArrayList<>();
        if (a.accounts() != Workload.ACCOUNTS || b.accounts() != Workload.ACCOUNTS) {
            problems.add("account count changed: A=" + a.accounts() + " B=" + b.accounts());
        }
        long drift = a.balanceSum() + b.balanceSum() - 2 * bankTotal;
        if (drift != 0) {
            problems.add("total money changed by " + drift);
        }
        if (a.balanceSum() != bankTotal - committedAmount) {
            problems.add("bank A moved " + (bankTotal - a.balanceSum()) + " out, committed " + committedAmount);
        }
        if (b.balanceSum() != bankTotal + committedAmount) {
            problems.add("bank B moved " + (b.balanceSum() - bankTotal) + " in, committed " + committedAmount);
        }
        if (a.negativeBalances() + b.negativeBalances() != 0) {
            problems.add("negative balances: A=" + a.negativeBalances() + " B=" + b.negativeBalances());
        }
        for (Bank bank : Bank.values()) {
            List<String> prepared = preparedTransactions(bank);
            if (!prepared.isEmpty()) {
                problems.add(prepared.size() + " prepared transaction(s) left in bank " + bank + ": "
                        + prepared.subList(0, Math.min(3, prepared.size())));
            }
        }
        return new CheckResult(problems.isEmpty(), List.copyOf(problems));
    }

    /** Creates the accounts table and inserts every account with the initial balance, in one transaction. */
    private void seed(Bank bank) throws SQLException {
        try (Connection con = dataSource(bank).getConnection()) {
            con.setAutoCommit(false);
            try (Statement st = con.createStatement()) {
                st.execute(Workload.CREATE_TABLE);
            }
            try (var ps = con.prepareStatement(Workload.INSERT_ACCOUNT)) {
                for (long id = 1; id <= Workload.ACCOUNTS; id++) {
                    ps.setLong(1, id);
                    ps.setLong(2, Workload.INITIAL_BALANCE);
                    ps.addBatch();
                    if (id % 1_000 == 0) {
                        ps.executeBatch();
                    }
                }
                ps.executeBatch();
            }
            con.commit();
        }
    }

    /** Reads a query's first column as strings. */
    protected static List<String> column(DataSource ds, String sql) throws SQLException {
        try (Connection con = ds.getConnection();
                Statement st = con.createStatement();
                ResultSet rs = st.executeQuery(sql)) {
            List<String> out = new ArrayList<>();
            while (rs.next()) {
                out.add(rs.getString(1));
            }
            return out;
        }
    }
}

package dev.duet.benchmark;

import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import javax.sql.XAConnection;
import javax.sql.XADataSource;
import javax.transaction.xa.XAException;
import javax.transaction.xa.XAResource;
import javax.transaction.xa.Xid;
import org.h2.jdbcx.JdbcDataSource;
import org.h2.tools.Server;

/**
 * Two H2 file databases in the cell's directory, embedded in this JVM, each {@code <cell>/h2-bank-x/bank.mv.db}: the
 * layout the demo bank uses for its own file ({@code --data-dir <dir>} opens {@code <dir>/bank}), so Duet's bank
 * processes can open the very files the other systems use.
 *
 * <p>Settings are H2's defaults except {@link #URL_SETTINGS}: {@code WRITE_DELAY=0} makes every commit and every XA
 * PREPARE reach the file before the call returns (H2's default of 500 ms keeps the last half second of commits in
 * memory only). The demo bank opens its file with the same setting, so every system pays the same per-commit
 * write. H2 never fsyncs on commit; that holds for every system alike.
 */
final class H2Pair extends DatabasePair {

    /** Settings that decide what a commit costs and whether it survives a crash. */
    private static final List<String> REPORTED_SETTINGS = List.of("WRITE_DELAY", "DEFAULT_LOCK_TIMEOUT", "MODE");
    /** Appended to every URL of the pair; also what the demo bank appends (besides its lock timeout). */
    static final String URL_SETTINGS = ";WRITE_DELAY=0";
    /** The database file's name inside its directory, as the demo bank names it. */
    static final String FILE_NAME = "bank";

    private final Map<Bank, JdbcDataSource> dataSources = new EnumMap<>(Bank.class);
    /**
     * One connection per bank held for the pair's lifetime: H2 closes a database when its last connection closes,
     * and the checks must not reopen (and so recover) the database between windows.
     */
    private final Map<Bank, Connection> keepOpen = new EnumMap<>(Bank.class);
    private Server tcpServer;
    /** True while another process owns the files (see {@link #releaseTo}); SQL from here would then fail. */
    private boolean released;

    private H2Pair(Path workDir) {
        super(workDir);
    }

    static H2Pair start(Path workDir) throws SQLException, java.io.IOException {
        Files.createDirectories(workDir);
        H2Pair pair = new H2Pair(workDir);
        for (Bank bank : Bank.values()) {
            Files.createDirectories(pair.directory(bank));
            JdbcDataSource ds = new JdbcDataSource();
            ds.setURL("jdbc:h2:file:" + pair.directory(bank).resolve(FILE_NAME) + URL_SETTINGS);
            ds.setUser("sa");
            ds.setPassword("");
            pair.dataSources.put(bank, ds);
            pair.keepOpen.put(bank, ds.getConnection());
        }
        return pair;
    }

    /** The directory holding one bank's database file. */
    Path directory(Bank bank) {
        return workDir().resolve("h2-" + bank.lowerName()).toAbsolutePath();
    }

    /**
     * Closes this JVM's hold on both files so another process can open them embedded (an H2 file is open in one
     * process at a time), and returns the directories to hand it. Until {@link #reclaim} the checks must go
     * through that process.
     */
    synchronized Map<Bank, Path> releaseTo() throws SQLException {
        if (tcpServer != null) {
            throw new IllegalStateException("the H2 TCP server holds the files; use either it or releaseTo()");
        }
        for (Connection con : keepOpen.values()) {
            con.close();
        }
        keepOpen.clear();
        released = true;
        Map<Bank, Path> dirs = new EnumMap<>(Bank.class);
        for (Bank bank : Bank.values()) {
            dirs.put(bank, directory(bank));
        }
        return dirs;
    }

    /** Opens the files here again, once the other process has exited: H2 runs its recovery on open. */
    synchronized void reclaim() throws SQLException {
        if (!released) {
            return;
        }
        for (Bank bank : Bank.values()) {
            keepOpen.put(bank, dataSources.get(bank).getConnection());
        }
        released = false;
    }

    boolean released() {
        return released;
    }

    @Override
    public String kind() {
        return "h2";
    }

    @Override
    public XADataSource xaDataSource(Bank bank) {
        return dataSources.get(bank);
    }

    @Override
    public DataSource dataSource(Bank bank) {
        return dataSources.get(bank);
    }

    /**
     * H2 embedded files can be open in one process only, so other processes reach them through an H2 TCP server
     * in this JVM, bound to a free port and connected to on 127.0.0.1 only. That adds a network hop an embedded
     * user would not pay: say so beside any result that uses it.
     */
    @Override
    public synchronized String externalJdbcUrl(Bank bank) throws Exception {
        if (released) {
            throw new IllegalStateException("the H2 files are handed to another process");
        }
        if (tcpServer == null) {
            int port;
            try (ServerSocket probe = new ServerSocket(0)) {
                port = probe.getLocalPort();
            }
            tcpServer = Server.createTcpServer("-tcpPort", Integer.toString(port), "-ifExists",
                    "-baseDir", workDir().toAbsolutePath().toString()).start();
        }
        return "jdbc:h2:tcp://127.0.0.1:" + tcpServer.getPort() + "/h2-" + bank.lowerName() + "/" + FILE_NAME
                + URL_SETTINGS;
    }

    @Override
    public String user() {
        return "sa";
    }

    @Override
    public String password() {
        return "";
    }

    @Override
    public String serverVersion() throws SQLException {
        return "H2 " + column(dataSource(Bank.A), "SELECT H2VERSION()").get(0);
    }

    @Override
    public Map<String, String> settings() throws SQLException {
        Map<String, String> out = new LinkedHashMap<>();
        try (Connection con = dataSource(Bank.A).getConnection();
                Statement st = con.createStatement();
                ResultSet rs = st.executeQuery("SELECT SETTING_NAME, SETTING_VALUE FROM INFORMATION_SCHEMA.SETTINGS")) {
            while (rs.next()) {
                if (REPORTED_SETTINGS.contains(rs.getString(1))) {
                    out.put(rs.getString(1), rs.getString(2));
                }
            }
        }
        return out;
    }

    /**
     * H2 lists every transaction in state PREPARED in INFORMATION_SCHEMA.IN_DOUBT, live or recovered at open, under
     * any name; {@code XAResource.recover()} is what a transaction manager sees (the same view, parsed as XA ids).
     * Both are asked, so neither a non-XA name nor a parsing quirk hides a prepared transaction.
     */
    @Override
    public List<String> preparedTransactions(Bank bank) throws SQLException {
        List<String> out = new ArrayList<>(column(dataSource(bank),
                "SELECT TRANSACTION_NAME FROM INFORMATION_SCHEMA.IN_DOUBT"));
        int recovered;
        XAConnection xa = dataSources.get(bank).getXAConnection();
        try {
            recovered = xa.getXAResource().recover(XAResource.TMSTARTRSCAN | XAResource.TMENDRSCAN).length;
        } catch (XAException e) {
            throw new SQLException("XAResource.recover() failed in bank " + bank + ": XA error " + e.errorCode, e);
        } finally {
            xa.close();
        }
        if (recovered != out.size()) {
            out.add("XAResource.recover() lists " + recovered + " while IN_DOUBT lists " + out.size());
        }
        return out;
    }

    @Override
    public void close() throws Exception {
        if (tcpServer != null) {
            tcpServer.stop();
        }
        for (Connection con : keepOpen.values()) {
            con.close();
        }
        keepOpen.clear();
    }
}

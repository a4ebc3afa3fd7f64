package dev.duet.benchmark;

import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import javax.sql.XADataSource;
import org.h2.jdbcx.JdbcDataSource;
import org.h2.tools.Server;

/**
 * Two H2 file databases in the cell's directory, embedded in this JVM, with H2's default settings (nothing made
 * faster or safer than a user who just opens a file database gets).
 */
final class H2Pair extends DatabasePair {

    /** Settings that decide what a commit costs and whether it survives a crash. */
    private static final List<String> REPORTED_SETTINGS = List.of("WRITE_DELAY", "DEFAULT_LOCK_TIMEOUT", "MODE");

    private final Map<Bank, JdbcDataSource> dataSources = new EnumMap<>(Bank.class);
    /**
     * One connection per bank held for the pair's lifetime: H2 closes a database when its last connection closes,
     * and the checks must not reopen (and so recover) the database between windows.
     */
    private final Map<Bank, Connection> keepOpen = new EnumMap<>(Bank.class);
    private Server tcpServer;

    private H2Pair(Path workDir) {
        super(workDir);
    }

    static H2Pair start(Path workDir) throws SQLException, java.io.IOException {
        Files.createDirectories(workDir);
        H2Pair pair = new H2Pair(workDir);
        for (Bank bank : Bank.values()) {
            JdbcDataSource ds = new JdbcDataSource();
            ds.setURL("jdbc:h2:file:" + pair.file(bank));
            ds.setUser("sa");
            ds.setPassword("");
            pair.dataSources.put(bank, ds);
            pair.keepOpen.put(bank, ds.getConnection());
        }
        return pair;
    }

    private Path file(Bank bank) {
        return workDir().resolve(bank.lowerName()).toAbsolutePath();
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
        if (tcpServer == null) {
            int port;
            try (ServerSocket probe = new ServerSocket(0)) {
                port = probe.getLocalPort();
            }
            tcpServer = Server.createTcpServer("-tcpPort", Integer.toString(port), "-ifExists",
                    "-baseDir", workDir().toAbsolutePath().toString()).start();
        }
        return "jdbc:h2:tcp://127.0.0.1:" + tcpServer.getPort() + "/" + bank.lowerName();
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

    /** H2 lists every open transaction in state PREPARED here, live or recovered at open. */
    @Override
    public List<String> preparedTransactions(Bank bank) throws SQLException {
        return column(dataSource(bank), "SELECT TRANSACTION_NAME FROM INFORMATION_SCHEMA.IN_DOUBT");
    }

    @Override
    public void close() throws Exception {
        if (tcpServer != null) {
            tcpServer.stop();
        }
        for (Connection con : keepOpen.values()) {
            con.close();
        }
    }
}

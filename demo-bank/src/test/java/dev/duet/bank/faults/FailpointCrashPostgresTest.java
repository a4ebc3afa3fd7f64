package dev.duet.bank.faults;

import static org.assertj.core.api.Assertions.assertThat;

import dev.duet.bank.chaos.Cluster;
import dev.duet.bank.postgres.PostgresCommand;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/**
 * The crash failpoints with both banks on one embedded PostgreSQL (prepared transactions on, fsync
 * on); after each recovery pg_prepared_xacts must be empty too.
 */
class FailpointCrashPostgresTest extends FailpointCrashSuite {
  EmbeddedPostgres pg;

  @BeforeAll
  void startCluster(@TempDir Path dir) throws Exception {
    pg = PostgresCommand.start(dir.resolve("postgres"), Cluster.freePort());
    try (var conn = pg.getPostgresDatabase().getConnection(); var s = conn.createStatement();
        var rs = s.executeQuery("SHOW max_prepared_transactions")) {
      rs.next();
      assertThat(rs.getInt(1)).isPositive();
    }
    c = Cluster.start(Launch.options(dir, bank -> List.of("--db-url",
        "jdbc:postgresql://127.0.0.1:" + pg.getPort() + "/" + bank.replace('-', '_') + "?user=postgres")));
  }

  @AfterAll
  void stopPostgres() throws Exception {
    if (c != null) c.close();
    c = null;
    if (pg != null) pg.close();
  }

  @Override
  List<String> postgresUrls() {
    return List.of("jdbc:postgresql://127.0.0.1:" + pg.getPort() + "/postgres?user=postgres");
  }
}

package dev.duet.bank.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.duet.bank.load.Audit;
import dev.duet.bank.postgres.PostgresCommand;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The same scenarios with both banks on PostgreSQL: one embedded server for the class, started as
 * {@code bin/demo up --postgres} starts it (prepared transactions on, fsync on).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TransfersPostgresTest {
  EmbeddedPostgres pg;
  DemoCluster c;
  long totalAtStart;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    pg = PostgresCommand.start(dir.resolve("postgres"), BankProcess.freePort());
    try (var conn = pg.getPostgresDatabase().getConnection(); var s = conn.createStatement();
        var rs = s.executeQuery("SHOW max_prepared_transactions")) {
      rs.next();
      assertThat(rs.getInt(1)).isPositive();
    }
    c = DemoCluster.start(dir, bank -> List.of("--db-url",
        "jdbc:postgresql://127.0.0.1:" + pg.getPort() + "/" + bank.replace('-', '_') + "?user=postgres"));
    totalAtStart = Audit.sum(c.audit.awaitQuiescence(Duration.ofSeconds(30)));
    assertThat(totalAtStart).isEqualTo(2L * DemoCluster.ACCOUNTS * DemoCluster.INITIAL_BALANCE);
  }

  @AfterAll
  void stop() throws Exception {
    if (c != null) c.close();
    if (pg != null) pg.close();
  }

  @Test
  @Order(1)
  void aTransferMovesMoneyInBothBanksAndWritesBothLedgers() {
    Scenarios.transferMovesMoneyAndWritesBothLedgers(c, 1, 2);
  }

  @Test
  @Order(2)
  void anOverdraftIsRefusedWith409AndMovesNothing() throws Exception {
    Scenarios.overdraftIsRefusedAndMovesNothing(c, 3, 4);
  }

  @Test
  @Order(3)
  void aRetryWithTheSameIdempotencyKeyGetsTheFirstResultAndMovesMoneyOnce() throws Exception {
    Scenarios.idempotencyKeyMovesMoneyOnce(c, 6, 7);
    assertThat(Audit.sum(c.audit.awaitQuiescence(Duration.ofSeconds(30)))).isEqualTo(totalAtStart);
  }
}

package dev.duet.participant.contract;

import dev.duet.participant.support.TestDb;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/** The JDBC adapter over H2 (file mode) passes the participant contract kit. */
class XaParticipantH2ContractTest extends ParticipantContractTest {
  @TempDir static Path dir;
  static XaContractSupport support;

  @BeforeAll
  static void start() throws Exception {
    support = new XaContractSupport(TestDb.h2(dir));
  }

  @AfterAll
  static void stop() throws Exception {
    support.close();
  }

  @Override
  protected String participantUrl() {
    return support.url();
  }

  @Override
  protected String participantName() {
    return support.participant.name();
  }

  @Override
  protected String signingSecret() {
    return XaContractSupport.SECRET;
  }

  @Override
  protected void createWork(String txId) throws Exception {
    support.work(txId);
  }
}

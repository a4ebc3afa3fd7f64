package dev.duet.participant.contract;

import dev.duet.participant.support.TestDb;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The JDBC adapter over embedded PostgreSQL passes the participant contract kit. */
class XaParticipantPostgresContractTest extends ParticipantContractTest {
  static XaContractSupport support;

  @BeforeAll
  static void start() throws Exception {
    support = new XaContractSupport(TestDb.pg());
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

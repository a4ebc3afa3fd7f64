package dev.duet.bank.it;

import dev.duet.bank.load.Audit;
import dev.duet.bank.transfer.TransfersServer;
import dev.duet.coordinator.config.CoordinatorConfig;
import dev.duet.coordinator.protocol.ProtocolConfig;
import dev.duet.coordinator.shell.CoordinatorServer;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The demo as the tests run it: the coordinator in this JVM, bank-a and bank-b as child processes
 * (so they can be SIGKILLed), the transfer service in this JVM. Everything over real HTTP on
 * loopback with signed coordinator → bank calls.
 */
final class DemoCluster implements AutoCloseable {
  static final String SECRET = "test-signing-secret-0123456789";
  static final long INITIAL_BALANCE = 100_000;
  static final int ACCOUNTS = 200;

  final CoordinatorServer coordinator;
  final BankProcess bankA;
  final BankProcess bankB;
  final TransfersServer transfers;
  final Audit audit;

  private DemoCluster(CoordinatorServer coordinator, BankProcess bankA, BankProcess bankB, TransfersServer transfers) {
    this.coordinator = coordinator;
    this.bankA = bankA;
    this.bankB = bankB;
    this.transfers = transfers;
    this.audit = new Audit(banks());
  }

  /** @param dbArgs bank name → its database flags (e.g. --data-dir or --db-url) */
  static DemoCluster start(Path dir, Function<String, List<String>> dbArgs) throws Exception {
    CoordinatorConfig config = CoordinatorConfig.defaults(dir.resolve("coordinator"), 0)
        .withProtocol(ProtocolConfig.defaults().withRetryBackoffMs(20, 300))
        .withSecurity(SECRET, null);
    CoordinatorServer coordinator = CoordinatorServer.start(config);
    String coordinatorUrl = "http://127.0.0.1:" + coordinator.port();
    BankProcess a = null;
    BankProcess b = null;
    try {
      a = BankProcess.start("bank-a", coordinatorUrl, SECRET, dbArgs.apply("bank-a"));
      b = BankProcess.start("bank-b", coordinatorUrl, SECRET, dbArgs.apply("bank-b"));
      Map<String, String> banks = new LinkedHashMap<>();
      banks.put("bank-a", a.url());
      banks.put("bank-b", b.url());
      TransfersServer transfers = TransfersServer.start(new TransfersServer.Config("127.0.0.1", 0,
          dir.resolve("transfers"), coordinatorUrl, null, banks, 256, 15_000, 8_000));
      return new DemoCluster(coordinator, a, b, transfers);
    } catch (Exception e) {
      if (a != null) a.close();
      if (b != null) b.close();
      coordinator.close();
      throw e;
    }
  }

  Map<String, String> banks() {
    Map<String, String> banks = new LinkedHashMap<>();
    banks.put("bank-a", bankA.url());
    banks.put("bank-b", bankB.url());
    return banks;
  }

  String transfersUrl() {
    return "http://127.0.0.1:" + transfers.port();
  }

  String bankUrl(String bank) {
    return bank.equals("bank-a") ? bankA.url() : bankB.url();
  }

  long balance(String bank, long account) {
    Http.Response r = Http.get(bankUrl(bank) + "/accounts/" + account);
    if (r.status() != 200) throw new AssertionError("GET balance: " + r.status() + " " + r.text());
    return r.json().get("balance").asLong();
  }

  /** Committed ledger rows of a transaction at a bank, as "account:amount". */
  List<String> ledger(String bank, String txId) {
    Http.Response r = Http.get(bankUrl(bank) + "/ledger/" + txId);
    if (r.status() != 200) throw new AssertionError("GET ledger: " + r.status() + " " + r.text());
    return java.util.stream.StreamSupport.stream(r.json().get("entries").spliterator(), false)
        .map(e -> e.get("account").asLong() + ":" + e.get("amount").asLong()).toList();
  }

  @Override
  public void close() throws Exception {
    transfers.close();
    bankA.close();
    bankB.close();
    coordinator.close();
  }
}

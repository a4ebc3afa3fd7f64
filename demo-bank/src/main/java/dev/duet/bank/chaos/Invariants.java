package dev.duet.bank.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import dev.duet.bank.load.Audit;
import dev.duet.bank.load.Audit.BankTotals;
import dev.duet.bank.load.Audit.Entry;
import dev.duet.bank.load.Audit.Sent;
import dev.duet.wire.Json;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The checks after a fault, once everything is healed: the coordinator has nothing unfinished, no
 * bank holds a branch in doubt, money is conserved, every transfer is in both banks or neither,
 * and what the client was told is what happened. Each failed check is one line in
 * {@link Result#violations}.
 */
public final class Invariants {
  /** Violations listed per check; the count covers all. */
  static final int SHOWN_PER_CHECK_MAX = 10;
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  /**
   * @param recoverMs from the start of the check until the coordinator and the banks settled
   * @param ledger the client's transfers against the ledgers (null if the banks never settled)
   */
  public record Result(List<String> violations, long recoverMs, Map<String, BankTotals> totals, Audit.LedgerCheck ledger,
      int ledgerTransactions) {
    public boolean ok() {
      return violations.isEmpty();
    }
  }

  private Invariants() {}

  /**
   * @param expectedTotal the sum of all balances before any transfer
   * @param initialPerBank each bank's total before any transfer (balances must equal it plus the ledger)
   * @param postgresUrls JDBC URLs of the banks' PostgreSQL databases, to look for prepared
   *     transactions left behind; empty on H2
   */
  public static Result check(String coordinatorUrl, Map<String, String> banks, long expectedTotal, long initialPerBank,
      List<Sent> sent, List<String> postgresUrls, Duration timeout) throws InterruptedException {
    List<String> v = new ArrayList<>();
    long start = System.nanoTime();
    long deadline = start + timeout.toNanos();
    String unfinished = awaitCoordinatorSettled(coordinatorUrl, deadline);
    if (unfinished != null) v.add("coordinator has unfinished transactions after " + timeout.toSeconds() + " s: " + unfinished);
    Audit audit = new Audit(banks);
    Map<String, BankTotals> totals = null;
    try {
      totals = audit.awaitQuiescence(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
    } catch (IllegalStateException e) {
      v.add("banks did not settle: " + e.getMessage());
    }
    long recoverMs = (System.nanoTime() - start) / 1_000_000;
    // A quiescent bank may still be asked to commit by a coordinator that settled meanwhile: ask again.
    String stillUnfinished = coordinatorUnfinished(coordinatorUrl);
    if (unfinished == null && stillUnfinished != null) v.add("coordinator has unfinished transactions: " + stillUnfinished);
    Audit.LedgerCheck ledgerCheck = null;
    int transactions = 0;
    if (totals != null) {
      long sum = Audit.sum(totals);
      if (sum != expectedTotal) v.add("money not conserved: the banks hold " + sum + ", expected " + expectedTotal);
      for (BankTotals t : totals.values()) {
        if (t.inDoubt() != 0) v.add(t.bank() + " has " + t.inDoubt() + " branches in doubt");
        if (t.totalBalance() != initialPerBank + t.ledgerSum()) {
          v.add(t.bank() + " balances (" + t.totalBalance() + ") disagree with its ledger (" + initialPerBank + " + "
              + t.ledgerSum() + ")");
        }
      }
      try {
        transactions = checkPairs(audit.ledger(null), v);
        ledgerCheck = audit.checkLedger(sent);
        for (String p : ledgerCheck.problems()) v.add(p);
        if (ledgerCheck.problemCount() > ledgerCheck.problems().size()) {
          v.add("... and " + (ledgerCheck.problemCount() - ledgerCheck.problems().size()) + " more transfer problems");
        }
      } catch (IOException e) {
        v.add("cannot read the ledgers: " + e.getMessage());
      }
    }
    for (String url : postgresUrls) {
      try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT gid, database FROM pg_prepared_xacts")) {
        List<String> left = new ArrayList<>();
        while (rs.next()) left.add(rs.getString(2) + ":" + rs.getString(1));
        if (!left.isEmpty()) v.add("PostgreSQL holds prepared transactions: " + abbreviate(left));
      } catch (Exception e) {
        v.add("cannot read pg_prepared_xacts at " + url + ": " + e.getMessage());
      }
    }
    return new Result(List.copyOf(v), recoverMs, totals, ledgerCheck, transactions);
  }

  /**
   * Every transaction in any ledger: exactly one debit and one credit of the same amount, in the
   * banks the rows name. Returns the number of transactions seen.
   */
  public static int checkPairs(Map<String, Map<String, List<Entry>>> ledger, List<String> v) {
    Map<String, List<String>> byTx = new HashMap<>();
    Map<String, Long> sums = new HashMap<>();
    for (var bank : ledger.entrySet()) {
      for (var tx : bank.getValue().entrySet()) {
        for (Entry e : tx.getValue()) {
          byTx.computeIfAbsent(tx.getKey(), k -> new ArrayList<>(2)).add(bank.getKey() + ":" + e.account() + ":" + e.amount());
          sums.merge(tx.getKey(), e.amount(), Long::sum);
        }
      }
    }
    int bad = 0;
    for (var e : byTx.entrySet()) {
      if (e.getValue().size() != 2 || sums.get(e.getKey()) != 0) {
        if (bad++ < SHOWN_PER_CHECK_MAX) v.add("transaction " + e.getKey() + " is half done: ledger rows " + e.getValue());
      }
    }
    if (bad > SHOWN_PER_CHECK_MAX) v.add("... and " + (bad - SHOWN_PER_CHECK_MAX) + " more half-done transactions");
    return byTx.size();
  }

  /** Null once nothing is COMMITTING or ABORTING and no transaction is live; else what is left. */
  static String awaitCoordinatorSettled(String url, long deadlineNanos) throws InterruptedException {
    String last;
    do {
      last = coordinatorUnfinished(url);
      if (last == null) return null;
      Thread.sleep(200);
    } while (System.nanoTime() < deadlineNanos);
    return last;
  }

  static String coordinatorUnfinished(String url) throws InterruptedException {
    try {
      List<String> left = new ArrayList<>();
      for (String state : List.of("COMMITTING", "ABORTING")) {
        for (JsonNode t : get(url + "/v1/transactions?state=" + state).path("transactions")) {
          left.add(state + " " + t.path("id").asText());
        }
      }
      long live = get(url + "/health").path("liveTransactions").asLong(-1);
      if (left.isEmpty() && live == 0) return null;
      return "liveTransactions=" + live + (left.isEmpty() ? "" : " " + abbreviate(left));
    } catch (IOException e) {
      return "coordinator unreachable: " + e.getMessage();
    }
  }

  private static JsonNode get(String url) throws IOException, InterruptedException {
    HttpResponse<byte[]> r = HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).GET().build(),
        HttpResponse.BodyHandlers.ofByteArray());
    if (r.statusCode() != 200) throw new IOException("GET " + url + " answered " + r.statusCode());
    return Json.LENIENT.readTree(r.body());
  }

  private static String abbreviate(List<String> items) {
    return items.size() <= SHOWN_PER_CHECK_MAX ? items.toString()
        : items.subList(0, SHOWN_PER_CHECK_MAX) + " and " + (items.size() - SHOWN_PER_CHECK_MAX) + " more";
  }
}

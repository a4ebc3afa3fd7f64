package dev.duet.bank.load;

import com.fasterxml.jackson.databind.JsonNode;
import dev.duet.wire.Json;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The money checks, from the outside, over the banks' HTTP APIs. Two databases committed by XA have
 * no common snapshot, so totals are read only at quiescence: nothing in flight and no branch in
 * doubt at any bank (PROTOCOL-TRAPS 14). Per transfer, the ledger rows tell: a committed transfer
 * has its debit row at the source bank and its credit row at the target bank, an aborted one has
 * neither.
 */
public final class Audit {
  /** Ledger rows fetched per page. */
  private static final int LEDGER_PAGE = 10_000;
  /** Problems listed in a report; the count covers all. */
  private static final int PROBLEMS_SHOWN_MAX = 10;

  public record BankTotals(String bank, long accounts, long totalBalance, long inDoubt, long ledgerCount, long ledgerSum) {}

  public record Entry(long account, long amount) {}

  public enum Outcome {
    COMMITTED,
    ABORTED,
    /** The client did not learn the outcome: only "both or neither" can be checked. */
    UNKNOWN
  }

  /** A transfer as the client saw it. */
  public record Sent(String txId, String fromBank, long fromAccount, String toBank, long toAccount, long amount, Outcome outcome) {}

  public record LedgerCheck(int committed, int aborted, int unknownCommitted, int unknownAborted, int problemCount,
      List<String> problems) {
    public boolean ok() {
      return problemCount == 0;
    }
  }

  private final Map<String, String> banks;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  public Audit(Map<String, String> banks) {
    this.banks = new LinkedHashMap<>(banks);
  }

  public Map<String, BankTotals> totals() throws IOException, InterruptedException {
    Map<String, BankTotals> out = new LinkedHashMap<>();
    for (Map.Entry<String, String> b : banks.entrySet()) {
      JsonNode a = get(b.getValue() + "/audit");
      out.put(b.getKey(), new BankTotals(b.getKey(), a.path("accounts").asLong(), a.path("totalBalance").asLong(),
          a.path("inDoubt").asLong(), a.path("ledger").path("count").asLong(), a.path("ledger").path("sum").asLong()));
    }
    return out;
  }

  public static long sum(Map<String, BankTotals> totals) {
    return totals.values().stream().mapToLong(BankTotals::totalBalance).sum();
  }

  /**
   * Waits until no bank has a branch in doubt and two reads in a row agree, then returns the totals.
   * Banks that cannot be reached are waited for too (one may be restarting).
   */
  public Map<String, BankTotals> awaitQuiescence(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    Map<String, BankTotals> previous = null;
    String last = "no answer yet";
    while (System.nanoTime() < deadline) {
      try {
        Map<String, BankTotals> now = totals();
        boolean settled = now.values().stream().allMatch(t -> t.inDoubt() == 0);
        if (settled && now.equals(previous)) return now;
        previous = settled ? now : null;
        last = "in doubt: " + now.values().stream().map(t -> t.bank() + "=" + t.inDoubt()).toList();
      } catch (IOException e) {
        previous = null;
        last = e.getMessage();
      }
      Thread.sleep(200);
    }
    throw new IllegalStateException("no quiescence within " + timeout.toSeconds() + " s (" + last + ")");
  }

  /** Ledger rows of every bank from {@code fromTxId} on: bank → txId → rows. */
  public Map<String, Map<String, List<Entry>>> ledger(String fromTxId) throws IOException, InterruptedException {
    Map<String, Map<String, List<Entry>>> out = new LinkedHashMap<>();
    for (Map.Entry<String, String> b : banks.entrySet()) {
      Map<String, List<Entry>> rows = new HashMap<>();
      String after = null;
      do {
        String url = b.getValue() + "/ledger?limit=" + LEDGER_PAGE + (fromTxId == null ? "" : "&from=" + fromTxId)
            + (after == null ? "" : "&after=" + after);
        JsonNode page = get(url);
        for (JsonNode e : page.path("entries")) {
          rows.computeIfAbsent(e.path("txId").asText(), k -> new ArrayList<>(2))
              .add(new Entry(e.path("account").asLong(), e.path("amount").asLong()));
        }
        after = page.hasNonNull("next") ? page.get("next").asText() : null;
      } while (after != null);
      out.put(b.getKey(), rows);
    }
    return out;
  }

  /** Checks every transfer against the banks' ledgers (read at quiescence). */
  public LedgerCheck checkLedger(List<Sent> sent) throws IOException, InterruptedException {
    String from = sent.stream().map(Sent::txId).filter(java.util.Objects::nonNull).min(String::compareTo).orElse(null);
    if (from == null) return new LedgerCheck(0, 0, 0, 0, 0, List.of());
    Map<String, Map<String, List<Entry>>> ledger = ledger(from);
    int committed = 0, aborted = 0, unknownCommitted = 0, unknownAborted = 0, problemCount = 0;
    List<String> problems = new ArrayList<>();
    for (Sent s : sent) {
      if (s.txId() == null) continue;
      boolean debit = has(ledger, s.fromBank(), s.txId(), new Entry(s.fromAccount(), -s.amount()));
      boolean credit = has(ledger, s.toBank(), s.txId(), new Entry(s.toAccount(), s.amount()));
      int rows = 0;
      for (Map<String, List<Entry>> bank : ledger.values()) rows += bank.getOrDefault(s.txId(), List.of()).size();
      String problem = null;
      switch (s.outcome()) {
        case COMMITTED -> {
          if (debit && credit && rows == 2) committed++;
          else problem = "committed transfer " + s.txId() + " has debit=" + debit + " credit=" + credit + " rows=" + rows;
        }
        case ABORTED -> {
          if (rows == 0) aborted++;
          else problem = "aborted transfer " + s.txId() + " left " + rows + " ledger rows";
        }
        case UNKNOWN -> {
          if (debit && credit && rows == 2) unknownCommitted++;
          else if (rows == 0) unknownAborted++;
          else problem = "transfer " + s.txId() + " (outcome unknown to the client) is half done: debit=" + debit + " credit=" + credit;
        }
      }
      if (problem != null) {
        problemCount++;
        if (problems.size() < PROBLEMS_SHOWN_MAX) problems.add(problem);
      }
    }
    return new LedgerCheck(committed, aborted, unknownCommitted, unknownAborted, problemCount, problems);
  }

  private static boolean has(Map<String, Map<String, List<Entry>>> ledger, String bank, String txId, Entry e) {
    Map<String, List<Entry>> rows = ledger.get(bank);
    return rows != null && rows.getOrDefault(txId, List.of()).contains(e);
  }

  private JsonNode get(String url) throws IOException, InterruptedException {
    HttpResponse<byte[]> r = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30)).GET().build(),
        HttpResponse.BodyHandlers.ofByteArray());
    if (r.statusCode() != 200) throw new IOException("GET " + url + " answered " + r.statusCode());
    return Json.LENIENT.readTree(r.body());
  }
}

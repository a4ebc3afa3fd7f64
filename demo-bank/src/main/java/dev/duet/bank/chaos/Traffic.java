package dev.duet.bank.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import dev.duet.bank.load.Audit.Outcome;
import dev.duet.bank.load.Audit.Sent;
import dev.duet.wire.Json;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Concurrent random transfers between the two banks, each lane one transfer at a time, recording
 * what the client saw. A lane that gets no answer (transfer service down) backs off briefly instead
 * of spinning. Unlike the load command it runs until stopped, not for a fixed time.
 */
public final class Traffic implements AutoCloseable {
  /** Longest a client waits for one answer; the transfer service answers sooner (its own limits). */
  static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(20);
  /** Pause of a lane after a request got no answer or a 503. */
  static final long BACKOFF_MS = 200;
  /** Lanes at most. */
  public static final int LANES_MAX = 64;

  public final AtomicInteger attempted = new AtomicInteger();
  public final AtomicInteger committed = new AtomicInteger();
  public final AtomicInteger aborted = new AtomicInteger();
  /** Has a transaction id, but the client was not told the outcome. */
  public final AtomicInteger unknown = new AtomicInteger();
  /** No transaction id: refused before it began (503), or no answer at all. */
  public final AtomicInteger noAnswer = new AtomicInteger();
  /** Aborted transfers by error code. */
  public final java.util.Map<String, Integer> abortReasons = new java.util.concurrent.ConcurrentSkipListMap<>();

  private final String transfersUrl;
  private final List<String> banks;
  private final long accounts;
  private final long amountMax;
  private final List<Sent> sent = new ArrayList<>();
  private final List<Thread> lanes = new ArrayList<>();
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private volatile boolean stopping;

  public Traffic(String transfersUrl, List<String> banks, long accounts, long amountMax, int lanes, long seed) {
    if (lanes < 1 || lanes > LANES_MAX) throw new IllegalArgumentException("lanes must be 1.." + LANES_MAX);
    this.transfersUrl = transfersUrl;
    this.banks = List.copyOf(banks);
    this.accounts = accounts;
    this.amountMax = amountMax;
    for (int i = 0; i < lanes; i++) {
      SplittableRandom random = new SplittableRandom(seed * 1_000_003 + i);
      Thread t = new Thread(() -> lane(random), "traffic-" + i);
      t.setDaemon(true);
      this.lanes.add(t);
    }
  }

  public Traffic start() {
    lanes.forEach(Thread::start);
    return this;
  }

  /** Stops sending and waits for every lane's transfer in flight to be answered (or time out). */
  public void stop() throws InterruptedException {
    stopping = true;
    for (Thread t : lanes) t.join(REQUEST_TIMEOUT.toMillis() + 5_000);
  }

  /** Every transfer that got a transaction id, with what the client saw. */
  public synchronized List<Sent> sent() {
    return List.copyOf(sent);
  }

  private void lane(SplittableRandom random) {
    while (!stopping) {
      String from = banks.get(random.nextInt(banks.size()));
      String to = banks.get(random.nextInt(banks.size()));
      long fromAccount = 1 + random.nextLong(accounts);
      long toAccount = 1 + random.nextLong(accounts);
      if (from.equals(to) && fromAccount == toAccount) toAccount = toAccount % accounts + 1;
      long amount = 1 + random.nextLong(amountMax);
      String body = "{\"from\":{\"bank\":\"" + from + "\",\"account\":" + fromAccount + "},\"to\":{\"bank\":\"" + to
          + "\",\"account\":" + toAccount + "},\"amount\":" + amount + "}";
      attempted.incrementAndGet();
      boolean backOff = false;
      try {
        HttpResponse<byte[]> r = http.send(HttpRequest.newBuilder(URI.create(transfersUrl + "/transfers"))
            .timeout(REQUEST_TIMEOUT).header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofByteArray());
        JsonNode json = null;
        try {
          json = Json.LENIENT.readTree(r.body());
        } catch (Exception notJson) {
          // no outcome in it: counted below
        }
        String txId = json != null && json.hasNonNull("txId") ? json.get("txId").asText() : null;
        String status = json != null && json.hasNonNull("status") ? json.get("status").asText() : "";
        Outcome outcome;
        if (txId == null) {
          outcome = null;
          noAnswer.incrementAndGet();
          backOff = true;
        } else if (r.statusCode() == 201 && status.equals("COMMITTED")) {
          outcome = Outcome.COMMITTED;
          committed.incrementAndGet();
        } else if (status.equals("ABORTED")) {
          outcome = Outcome.ABORTED;
          aborted.incrementAndGet();
          abortReasons.merge(json.path("error").asText("ABORTED"), 1, Integer::sum);
        } else {
          outcome = Outcome.UNKNOWN;
          unknown.incrementAndGet();
        }
        if (outcome != null) {
          synchronized (this) {
            sent.add(new Sent(txId, from, fromAccount, to, toAccount, amount, outcome));
          }
        }
      } catch (InterruptedException e) {
        return;
      } catch (Exception e) {
        noAnswer.incrementAndGet();
        backOff = true;
      }
      if (backOff) {
        try {
          Thread.sleep(BACKOFF_MS);
        } catch (InterruptedException e) {
          return;
        }
      }
    }
  }

  @Override
  public void close() throws InterruptedException {
    stop();
  }
}

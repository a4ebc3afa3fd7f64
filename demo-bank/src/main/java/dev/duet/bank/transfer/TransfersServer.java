package dev.duet.bank.transfer;

import dev.duet.bank.jdbc.BoundedWorkers;
import dev.duet.bank.transfer.BankClient.BankReply;
import dev.duet.bank.transfer.TransferStore.Row;
import dev.duet.bank.web.DemoErrors;
import dev.duet.bank.web.Replies;
import dev.duet.bank.web.Servers;
import dev.duet.participant.context.CommitResult;
import dev.duet.participant.context.CoordinatorClient;
import dev.duet.participant.context.CoordinatorException;
import dev.duet.participant.context.TxContext;
import dev.duet.participant.context.TxStatus;
import dev.duet.wire.ErrorCodes;
import dev.duet.wire.Headers;
import dev.duet.wire.Json;
import dev.duet.wire.Outcome;
import dev.duet.wire.TxIds;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * <b>The transfer service's HTTP API is declared here</b>, in {@link #router}. A transfer begins a
 * transaction at the coordinator, debits the source bank and credits the target bank (each call
 * carries the transaction header, so each bank joins), and commits. Anything failing before the
 * commit rolls the transaction back at the coordinator.
 */
public final class TransfersServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(TransfersServer.class);

  /** A transfer body is ~100 bytes; anything near this is not a transfer. */
  static final int BODY_BYTES_MAX = 4096;
  /** Idempotency keys are at most this long (printable ASCII). */
  static final int IDEMPOTENCY_KEY_CHARS_MAX = 255;
  /** Threads and connections of the transfer records' database. */
  static final int STORE_WORKERS = 4;
  /** Store calls queued or running at once. */
  static final int STORE_PENDING_MAX = 4096;
  /** Seconds a client is told to wait before asking again about a transfer still in progress. */
  static final String RETRY_AFTER_S = "1";
  private static final int EVENT_LOOPS = 2;

  /**
   * @param banks bank name → base URL
   * @param inFlightMax transfers under way at once; past it a request gets 503 OVERLOADED
   * @param txTimeoutMs the transaction timeout asked of the coordinator
   * @param callTimeoutMs how long one call to a bank may take
   */
  public record Config(String host, int port, Path dataDir, String coordinatorUrl, String coordinatorToken,
      Map<String, String> banks, int inFlightMax, long txTimeoutMs, long callTimeoutMs) {}

  private record Reply(int status, String json) {}

  /** A keyed request under way in this process: a concurrent retry waits for it instead of racing. */
  private record KeyedCall(String hash, Future<Reply> reply) {}

  private final Config config;
  private final Vertx vertx;
  private final AtomicInteger inFlight = new AtomicInteger();
  private final Map<String, KeyedCall> keyedCalls = new ConcurrentHashMap<>();
  private BoundedWorkers storeWorkers;
  private TransferStore store;
  private CoordinatorClient coordinator;
  private BankClient banks;
  private List<HttpServer> servers = List.of();

  private TransfersServer(Config config) {
    this.config = config;
    this.vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(EVENT_LOOPS));
  }

  public static TransfersServer start(Config config) throws Exception {
    TransfersServer s = new TransfersServer(config);
    try {
      s.boot();
      return s;
    } catch (Exception e) {
      s.close();
      throw e;
    }
  }

  private void boot() throws Exception {
    storeWorkers = new BoundedWorkers(vertx, "transfer-store", STORE_WORKERS, STORE_PENDING_MAX);
    store = new TransferStore(config.dataDir(), storeWorkers, STORE_WORKERS);
    coordinator = new CoordinatorClient(vertx, config.coordinatorUrl(), config.coordinatorToken());
    banks = new BankClient(vertx, config.banks(), config.callTimeoutMs());
    servers = Servers.listen(vertx, router(), config.host(), config.port(), EVENT_LOOPS);
    log.info("transfers ready on http://{}:{} (banks {}, coordinator {})", config.host(), port(), config.banks(),
        config.coordinatorUrl());
  }

  public int port() {
    return servers.isEmpty() ? config.port() : servers.get(0).actualPort();
  }

  private Router router() {
    Router r = Router.router(vertx);
    r.get("/health").handler(ctx -> Replies.send(ctx, 200, Map.of("status", "UP", "inFlight", inFlight.get())));
    r.post("/transfers").handler(BodyHandler.create(false).setBodyLimit(BODY_BYTES_MAX)).handler(this::create);
    r.get("/transfers/:id").handler(this::show);
    Replies.installErrorHandlers(r, BODY_BYTES_MAX);
    return r;
  }

  // ---------------------------------------------------------------- POST /transfers

  private void create(RoutingContext ctx) {
    Buffer body = ctx.body().buffer();
    Transfer.Parsed parsed = Transfer.parse(body == null ? null : body.getBytes(), config.banks().keySet());
    if (parsed.rejection() != null) {
      Replies.error(ctx, parsed.rejection().status(), parsed.rejection().code(), parsed.rejection().message());
      return;
    }
    String key = ctx.request().getHeader(Headers.IDEMPOTENCY_KEY);
    if (key != null && !validKey(key)) {
      Replies.error(ctx, 400, ErrorCodes.BAD_REQUEST, Headers.IDEMPOTENCY_KEY + " must be 1-"
          + IDEMPOTENCY_KEY_CHARS_MAX + " printable ASCII characters");
      return;
    }
    if (inFlight.incrementAndGet() > config.inFlightMax()) {
      inFlight.decrementAndGet();
      Replies.error(ctx, 503, ErrorCodes.OVERLOADED, config.inFlightMax() + " transfers are already under way; retry shortly");
      return;
    }
    Transfer t = parsed.transfer();
    Future<Reply> reply = key == null ? execute(t, null, null) : keyed(t, key);
    reply.onComplete(ar -> {
      inFlight.decrementAndGet();
      if (ar.succeeded()) {
        if (ar.result().status() == 503) ctx.response().putHeader("Retry-After", RETRY_AFTER_S);
        Replies.sendRaw(ctx, ar.result().status(), ar.result().json());
      } else {
        log.warn("transfer failed unexpectedly: {}", ar.cause().toString());
        Replies.error(ctx, 503, ErrorCodes.UNAVAILABLE, "the transfer could not be handled now: "
            + Replies.abbreviate(ar.cause().getMessage()));
      }
    });
  }

  private static boolean validKey(String key) {
    if (key.isEmpty() || key.length() > IDEMPOTENCY_KEY_CHARS_MAX) return false;
    for (int i = 0; i < key.length(); i++) {
      char ch = key.charAt(i);
      if (ch < 0x21 || ch > 0x7e) return false;
    }
    return true;
  }

  /** A request with an Idempotency-Key: the first result for the key, or this one's if it is the first. */
  private Future<Reply> keyed(Transfer t, String key) {
    String hash = t.hash();
    Promise<Reply> promise = Promise.promise();
    KeyedCall mine = new KeyedCall(hash, promise.future());
    KeyedCall running = keyedCalls.putIfAbsent(key, mine);
    if (running != null) {
      return running.hash().equals(hash) ? running.reply() : Future.succeededFuture(keyReused());
    }
    store.findByKey(key).compose(row -> {
      if (row == null) return execute(t, key, hash);
      if (!row.requestHash().equals(hash)) return Future.succeededFuture(keyReused());
      if (!TransferStore.PENDING.equals(row.status())) return Future.succeededFuture(new Reply(row.httpStatus(), row.reply()));
      return resolvePending(row);
    }).onComplete(promise);
    promise.future().onComplete(x -> keyedCalls.remove(key, mine));
    return promise.future();
  }

  private static Reply keyReused() {
    return error(422, DemoErrors.IDEMPOTENCY_KEY_REUSED,
        "this " + Headers.IDEMPOTENCY_KEY + " was used for a different transfer; use a new key");
  }

  /** Runs one transfer from the start. {@code key} and {@code hash} are null without an Idempotency-Key. */
  private Future<Reply> execute(Transfer t, String key, String hash) {
    String id = TxIds.next(System.currentTimeMillis());
    long now = System.currentTimeMillis();
    return coordinator.begin(config.txTimeoutMs()).transform(begun -> {
      if (begun.failed()) {
        // Nothing began, nothing is recorded: a retry starts afresh.
        return Future.succeededFuture(error(503, DemoErrors.COORDINATOR_UNAVAILABLE,
            "cannot begin a transaction: " + Replies.abbreviate(begun.cause().getMessage())));
      }
      TxContext tx = begun.result();
      Future<Void> recorded = key == null ? Future.succeededFuture()
          : store.insert(new Row(id, key, hash, tx.txId(), t, TransferStore.PENDING, 0, null, now));
      return recorded.transform(rec -> {
        if (rec.failed()) {
          return rollbackQuietly(tx).map(v -> error(503, DemoErrors.TRANSFER_IN_PROGRESS,
              "could not record the idempotency key now; retry: " + Replies.abbreviate(rec.cause().getMessage())));
        }
        return moveAndCommit(id, t, tx).compose(reply -> record(id, key, hash, t, tx, reply, now).map(reply));
      });
    });
  }

  private Future<Reply> moveAndCommit(String id, Transfer t, TxContext tx) {
    return banks.move(tx, t.from().bank(), t.from().account(), "debit", t.amount())
        .compose(debit -> !debit.ok() ? Future.succeededFuture(debit)
            : banks.move(tx, t.to().bank(), t.to().account(), "credit", t.amount()))
        .compose(step -> step.ok() ? commit(id, t, tx) : abort(id, t, tx, step));
  }

  private Future<Reply> commit(String id, Transfer t, TxContext tx) {
    return coordinator.commit(tx).transform(ar -> {
      if (ar.failed()) {
        // The coordinator may or may not have decided: only asking it later can tell.
        log.warn("commit of {} got no answer: {}", tx.txId(), ar.cause().toString());
        return Future.succeededFuture(unknown(id, tx, "the coordinator did not answer the commit: "
            + Replies.abbreviate(ar.cause().getMessage())));
      }
      CommitResult r = ar.result();
      if (r.outcome() == Outcome.COMMITTED) return Future.succeededFuture(committed(id, t, tx));
      if (r.outcome() == Outcome.ABORTED) {
        return Future.succeededFuture(aborted(id, tx, 409, DemoErrors.ABORTED, "the coordinator aborted it: " + r.reason()));
      }
      return Future.succeededFuture(unknown(id, tx, r.reason()));
    });
  }

  /** A step failed before the commit: roll back, then say why in the bank's words. */
  private Future<Reply> abort(String id, Transfer t, TxContext tx, BankReply step) {
    Reply reply;
    if (step.status() == 0 || step.status() >= 500) {
      reply = aborted(id, tx, 409, DemoErrors.BANK_UNAVAILABLE, "a bank did not do its part: " + Replies.abbreviate(step.message()));
    } else if (step.status() == 404 && DemoErrors.ACCOUNT_UNKNOWN.equals(step.code())) {
      reply = aborted(id, tx, 422, DemoErrors.ACCOUNT_UNKNOWN, step.message());
    } else if (step.status() == 422 || step.status() == 400) {
      reply = aborted(id, tx, 422, step.code() == null ? ErrorCodes.BAD_REQUEST : step.code(), step.message());
    } else {
      reply = aborted(id, tx, 409, step.code() == null ? DemoErrors.ABORTED : step.code(), step.message());
    }
    return rollbackQuietly(tx).map(v -> reply);
  }

  /** Rolls back at the coordinator; if that fails, the transaction times out there and aborts anyway. */
  private Future<Void> rollbackQuietly(TxContext tx) {
    return coordinator.rollback(tx).transform(ar -> {
      if (ar.failed() && !(ar.cause() instanceof CoordinatorException)) {
        log.warn("rollback of {} failed (it will time out and abort): {}", tx.txId(), ar.cause().toString());
      }
      return Future.succeededFuture();
    });
  }

  /** Stores the outcome: for a keyed transfer, over its PENDING row; otherwise a new row. */
  private Future<Void> record(String id, String key, String hash, Transfer t, TxContext tx, Reply reply, long now) {
    String status = statusOf(reply);
    Future<Void> f;
    if (key != null) {
      f = status.equals(TransferStore.PENDING) ? Future.succeededFuture() : store.finish(id, status, reply.status(), reply.json());
    } else {
      f = store.insert(new Row(id, null, null, tx.txId(), t, status, reply.status(),
          status.equals(TransferStore.PENDING) ? null : reply.json(), now));
    }
    // The money moved (or not) whatever the record says; a PENDING row is resolved by asking.
    return f.recover(e -> {
      log.warn("could not record transfer {} ({}): {}", id, status, e.toString());
      return Future.succeededFuture();
    });
  }

  /** A keyed transfer found PENDING (its first attempt stopped midway): ask the coordinator. */
  private Future<Reply> resolvePending(Row row) {
    TxContext tx = new TxContext(config.coordinatorUrl(), row.txId());
    return coordinator.status(row.txId()).compose(st -> {
      if (st == TxStatus.COMMITTED) return finishPending(row, committed(row.id(), row.transfer(), tx));
      if (st == TxStatus.ABORTED) {
        // Aborted, or committed long ago and forgotten by the coordinator: the source bank's
        // ledger tells them apart (every committed transfer has its debit row there).
        return banks.ledgerOf(row.transfer().from().bank(), row.txId()).compose(ledger -> {
          if (!ledger.ok()) return Future.succeededFuture(inProgress(row, "cannot reach " + row.transfer().from().bank()));
          boolean present = ledger.body().path("entries").size() > 0;
          return finishPending(row, present ? committed(row.id(), row.transfer(), tx)
              : aborted(row.id(), tx, 409, DemoErrors.ABORTED, "the transfer did not finish (its first attempt stopped before the commit)"));
        });
      }
      return Future.succeededFuture(inProgress(row, "the transaction is not decided yet"));
    });
  }

  private Future<Reply> finishPending(Row row, Reply reply) {
    return store.finish(row.id(), statusOf(reply), reply.status(), reply.json()).map(reply)
        .recover(e -> Future.succeededFuture(reply));
  }

  private static Reply inProgress(Row row, String why) {
    Map<String, Object> b = new LinkedHashMap<>();
    b.put("id", row.id());
    b.put("status", TransferStore.PENDING);
    b.put("txId", row.txId());
    b.put("error", DemoErrors.TRANSFER_IN_PROGRESS);
    b.put("message", "this transfer is still in progress (" + why + "); retry shortly");
    return new Reply(503, Json.writeString(b));
  }

  // ---------------------------------------------------------------- GET /transfers/{id}

  private void show(RoutingContext ctx) {
    String id = ctx.pathParam("id");
    if (!TxIds.isValid(id)) {
      Replies.error(ctx, 400, ErrorCodes.BAD_REQUEST, "not a transfer id: " + Replies.abbreviate(id));
      return;
    }
    store.find(id).onComplete(ar -> {
      if (ar.failed()) {
        Replies.error(ctx, 503, ErrorCodes.UNAVAILABLE, "cannot read transfers now: " + Replies.abbreviate(ar.cause().getMessage()));
        return;
      }
      Row row = ar.result();
      if (row == null) {
        Replies.error(ctx, 404, DemoErrors.TRANSFER_UNKNOWN, "no transfer " + id);
        return;
      }
      coordinator.view(row.txId()).onComplete(v -> {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("id", row.id());
        String status = row.status();
        body.put("txId", row.txId());
        body.put("from", row.transfer().sideJson(row.transfer().from()));
        body.put("to", row.transfer().sideJson(row.transfer().to()));
        body.put("amount", row.transfer().amount());
        body.put("createdAt", row.createdAt());
        if (row.reply() != null) {
          try {
            var reply = Json.LENIENT.readTree(row.reply());
            if (reply.hasNonNull("reason")) body.put("reason", reply.get("reason").asText());
          } catch (Exception ignored) {
            // the stored reply is ours; unreadable only if the file was edited
          }
        }
        if (v.succeeded()) {
          body.put("transaction", v.result());
          Outcome o = v.result().state() == null ? null : v.result().state().outcome();
          if (TransferStore.PENDING.equals(status) && o != null) status = o.name();
        } else if (v.cause() instanceof CoordinatorException ce) {
          body.put("transaction", Map.of("error", String.valueOf(ce.code()), "message",
              ce.status() == 404 ? "the coordinator holds no record of it: aborted, or finished and forgotten" : ce.getMessage()));
        } else {
          body.put("transaction", Map.of("error", ErrorCodes.UNAVAILABLE, "message", "cannot reach the coordinator"));
        }
        body.put("status", status);
        Replies.send(ctx, 200, body);
      });
    });
  }

  // ---------------------------------------------------------------- replies

  private static String statusOf(Reply r) {
    if (r.status() == 201) return Outcome.COMMITTED.name();
    if (r.status() == 504 || r.status() == 503) return TransferStore.PENDING;
    return Outcome.ABORTED.name();
  }

  private static Reply committed(String id, Transfer t, TxContext tx) {
    Map<String, Object> b = new LinkedHashMap<>();
    b.put("id", id);
    b.put("status", Outcome.COMMITTED.name());
    b.put("txId", tx.txId());
    b.put("from", t.sideJson(t.from()));
    b.put("to", t.sideJson(t.to()));
    b.put("amount", t.amount());
    return new Reply(201, Json.writeString(b));
  }

  private static Reply aborted(String id, TxContext tx, int status, String code, String reason) {
    Map<String, Object> b = new LinkedHashMap<>();
    b.put("id", id);
    b.put("status", Outcome.ABORTED.name());
    b.put("txId", tx.txId());
    b.put("reason", reason);
    b.put("error", code);
    b.put("message", reason);
    return new Reply(status, Json.writeString(b));
  }

  private static Reply unknown(String id, TxContext tx, String why) {
    Map<String, Object> b = new LinkedHashMap<>();
    b.put("id", id);
    b.put("status", Outcome.UNKNOWN.name());
    b.put("txId", tx.txId());
    b.put("error", ErrorCodes.OUTCOME_UNKNOWN);
    b.put("message", why + "; GET /transfers/" + id + " tells the outcome once it is known");
    return new Reply(504, Json.writeString(b));
  }

  private static Reply error(int status, String code, String message) {
    return new Reply(status, Json.writeString(new dev.duet.wire.Messages.ErrorBody(code, message)));
  }

  @Override
  public void close() {
    for (HttpServer s : servers) s.close();
    if (coordinator != null) coordinator.close();
    if (banks != null) banks.close();
    if (storeWorkers != null) storeWorkers.close();
    if (store != null) store.close();
    vertx.close().toCompletionStage().toCompletableFuture().join();
  }
}

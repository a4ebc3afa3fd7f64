package dev.duet.bank.account;

import com.fasterxml.jackson.databind.JsonNode;
import dev.duet.bank.jdbc.BoundedWorkers;
import dev.duet.bank.jdbc.ConnectionPool;
import dev.duet.bank.web.DemoErrors;
import dev.duet.bank.web.Money;
import dev.duet.bank.web.Replies;
import dev.duet.bank.web.Servers;
import dev.duet.participant.context.CoordinatorClient;
import dev.duet.participant.context.JoinHandler;
import dev.duet.participant.context.TxContext;
import dev.duet.participant.http.ParticipantEndpoints;
import dev.duet.participant.http.ParticipantOptions;
import dev.duet.participant.jdbc.BranchLimitException;
import dev.duet.participant.jdbc.XaOptions;
import dev.duet.participant.jdbc.XaParticipant;
import dev.duet.participant.recovery.RecoveryWorker;
import dev.duet.wire.ErrorCodes;
import dev.duet.wire.Headers;
import dev.duet.wire.TxIds;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpServer;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * <b>A bank's HTTP API is declared here</b>, in {@link #router}. Debits and credits happen only
 * inside a transaction: the request joins it through the SDK's {@link JoinHandler}, and the SQL runs
 * in the transaction's XA branch on a bounded worker pool. The coordinator finishes the branch
 * through the participant endpoints under {@code /tx}.
 */
public final class BankServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(BankServer.class);

  /** Where the participant endpoints live; the participant URL is {@code http://host:port/tx}. */
  public static final String PARTICIPANT_PATH = "/tx";
  /** A debit or credit body is {@code {"amount": n}}: a few dozen bytes. */
  static final int BODY_BYTES_MAX = 1024;
  /** Ledger rows one {@code GET /ledger} page returns at most. */
  static final int LEDGER_PAGE_MAX = 10_000;
  /** Database calls queued or running at once, past which requests get 503. */
  static final int PENDING_CALLS_MAX = 2048;
  private static final int EVENT_LOOPS = 2;
  /** How often active branches past their deadline are looked for. */
  static final long DEADLINE_CHECK_MS = 1000;

  /**
   * @param branchTimeoutMs deadline of a branch when the coordinator did not report one
   * @param recoveryPeriodMs how often in-doubt branches are asked about
   * @param branchesMax branches active or prepared at once (each holds a connection); past it a
   *     debit or credit gets 503
   * @param advertisePort port in the participant URL (differs from {@code port} behind a proxy)
   * @param chaos serve {@code /admin/failpoints} (tests and chaos runs only)
   */
  public record Config(String name, String host, int port, String advertiseHost, BankDatabase database,
      String coordinatorUrl, String coordinatorToken, String signingSecret, long accounts,
      long initialBalance, int workers, long branchTimeoutMs, long recoveryPeriodMs, int branchesMax,
      int advertisePort, boolean chaos) {}

  private final Config config;
  private final Vertx vertx;
  private ConnectionPool pool;
  private BoundedWorkers workers;
  private XaParticipant participant;
  private CoordinatorClient coordinator;
  private List<HttpServer> servers = List.of();
  private long accountsHeld;

  private BankServer(Config config) {
    this.config = config;
    this.vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(EVENT_LOOPS));
  }

  public static BankServer start(Config config) throws Exception {
    BankServer s = new BankServer(config);
    try {
      s.boot();
      return s;
    } catch (Exception e) {
      s.close();
      throw e;
    }
  }

  private void boot() throws Exception {
    pool = new ConnectionPool(config.database().plain(), config.workers());
    accountsHeld = config.database().prepare(pool, config.accounts(), config.initialBalance());
    workers = new BoundedWorkers(vertx, "bank-sql-" + config.name(), config.workers(), PENDING_CALLS_MAX);
    participant = new XaParticipant(config.name(), config.database().xa(), xaOptions());
    coordinator = new CoordinatorClient(vertx, config.coordinatorUrl(), config.coordinatorToken());
    String participantUrl = "http://" + config.advertiseHost() + ":" + config.advertisePort() + PARTICIPANT_PATH;
    Router router = router(JoinHandler.create(coordinator, config.name(), participantUrl));
    new RecoveryWorker(vertx, participant, coordinator, config.recoveryPeriodMs()).start();
    servers = Servers.listen(vertx, router, config.host(), config.port(), EVENT_LOOPS);
    log.info("{} ready on http://{}:{} ({} accounts, {}, participant {})", config.name(), config.host(),
        config.port(), accountsHeld, config.database().description(), participantUrl);
  }

  private XaOptions xaOptions() {
    return new XaOptions(config.branchesMax(), DEADLINE_CHECK_MS);
  }

  private Router router(JoinHandler join) {
    Router r = Router.router(vertx);
    ParticipantEndpoints.mount(vertx, r, PARTICIPANT_PATH, participant,
        ParticipantOptions.defaults().withSigningSecret(config.signingSecret()).withWorkerPoolSize(config.workers()));
    BodyHandler body = BodyHandler.create(false).setBodyLimit(BODY_BYTES_MAX);
    r.get("/health").handler(this::health);
    r.get("/audit").handler(this::audit);
    r.get("/ledger").handler(this::ledger);
    r.get("/ledger/:txId").handler(this::ledgerOf);
    if (config.chaos()) dev.duet.bank.chaos.FailpointsAdmin.mount(r);
    r.get("/accounts/:id").handler(this::account);
    for (Accounts.Move move : Accounts.Move.values()) {
      r.post("/accounts/:id/" + move.name().toLowerCase()).handler(body).handler(this::requireTransaction)
          .handler(this::parseMove).handler(join).handler(ctx -> move(ctx, move));
    }
    Replies.installErrorHandlers(r, BODY_BYTES_MAX);
    return r;
  }

  // ---------------------------------------------------------------- handlers

  private void health(RoutingContext ctx) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("status", "UP");
    body.put("name", config.name());
    body.put("inDoubt", participant.inDoubtCount());
    Replies.send(ctx, 200, body);
  }

  private void account(RoutingContext ctx) {
    Long id = accountId(ctx);
    if (id == null) return;
    reply(ctx, workers.call(() -> pool.with(c -> Accounts.balance(c, id))), balance -> {
      if (balance == null) {
        Replies.error(ctx, 404, DemoErrors.ACCOUNT_UNKNOWN, config.name() + " has no account " + id);
        return;
      }
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("id", id);
      body.put("balance", balance);
      Replies.send(ctx, 200, body);
    });
  }

  /** Totals as committed: read at quiescence (inDoubt 0, nothing in flight) they must add up. */
  private void audit(RoutingContext ctx) {
    reply(ctx, workers.call(() -> pool.with(Accounts::totals)), t -> {
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("bank", config.name());
      body.put("accounts", t.accounts());
      body.put("totalBalance", t.totalBalance());
      body.put("inDoubt", participant.inDoubtCount());
      body.put("ledger", Map.of("count", t.ledgerCount(), "sum", t.ledgerSum()));
      Replies.send(ctx, 200, body);
    });
  }

  /**
   * {@code GET /ledger?from=TXID&after=TXID:ACCOUNT&limit=N}: committed ledger rows in (txId,
   * account) order, for checking transfers against both banks; {@code next} is the cursor of the
   * following page, absent on the last one.
   */
  private void ledger(RoutingContext ctx) {
    String from = ctx.request().getParam("from");
    if (from != null && !TxIds.isValid(from)) {
      Replies.error(ctx, 400, ErrorCodes.BAD_REQUEST, "from must be a transaction id");
      return;
    }
    String after = ctx.request().getParam("after");
    String afterTx = null;
    long afterAccount = 0;
    if (after != null) {
      int colon = after.indexOf(':');
      try {
        afterTx = after.substring(0, colon);
        afterAccount = Long.parseLong(after.substring(colon + 1));
      } catch (RuntimeException e) {
        afterTx = null;
      }
      if (afterTx == null || !TxIds.isValid(afterTx)) {
        Replies.error(ctx, 400, ErrorCodes.BAD_REQUEST, "after must be TXID:ACCOUNT, the next cursor of the previous page");
        return;
      }
    }
    int limit;
    try {
      limit = Integer.parseInt(ctx.request().getParam("limit", "1000"));
    } catch (NumberFormatException e) {
      limit = -1;
    }
    if (limit < 1 || limit > LEDGER_PAGE_MAX) {
      Replies.error(ctx, 400, ErrorCodes.BAD_REQUEST, "limit must be 1.." + LEDGER_PAGE_MAX);
      return;
    }
    String tx = afterTx;
    long acc = afterAccount;
    int lim = limit;
    reply(ctx, workers.call(() -> pool.with(c -> Accounts.ledger(c, from, tx, acc, lim))), rows -> {
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("entries", rows);
      if (rows.size() == lim) {
        Accounts.Entry last = rows.get(rows.size() - 1);
        body.put("next", last.txId() + ":" + last.account());
      }
      Replies.send(ctx, 200, body);
    });
  }

  private void ledgerOf(RoutingContext ctx) {
    String txId = ctx.pathParam("txId");
    if (!TxIds.isValid(txId)) {
      Replies.error(ctx, 400, ErrorCodes.BAD_REQUEST, "not a transaction id: " + Replies.abbreviate(txId));
      return;
    }
    reply(ctx, workers.call(() -> pool.with(c -> Accounts.ledgerOf(c, txId))),
        rows -> Replies.send(ctx, 200, Map.of("txId", txId, "entries", rows)));
  }

  private void requireTransaction(RoutingContext ctx) {
    if (ctx.request().getHeader(Headers.TRANSACTION) == null) {
      Replies.error(ctx, 428, DemoErrors.TRANSACTION_REQUIRED, "debits and credits happen only inside a transaction:"
          + " send the " + Headers.TRANSACTION + " header (POST /transfers on the transfer service does)");
      return;
    }
    ctx.next();
  }

  /** Validates before joining, so bad input never enlists this bank in anything. */
  private void parseMove(RoutingContext ctx) {
    Long id = accountId(ctx);
    if (id == null) return;
    JsonNode root = Replies.objectWithOnly(ctx, "amount", "{\"amount\": n}");
    if (root == null) return;
    Money.Invalid bad = Money.checkAmount(root.get("amount"));
    if (bad != null) {
      Replies.error(ctx, bad.status(), bad.semantic() ? DemoErrors.INVALID_AMOUNT : ErrorCodes.BAD_REQUEST, bad.message());
      return;
    }
    ctx.put("account", id);
    ctx.put("amount", root.get("amount").longValue());
    ctx.next();
  }

  private void move(RoutingContext ctx, Accounts.Move move) {
    TxContext tx = JoinHandler.txContext(ctx);
    if (tx == null) {
      Replies.error(ctx, 428, DemoErrors.TRANSACTION_REQUIRED, "no transaction joined");
      return;
    }
    long account = ctx.get("account");
    long amount = ctx.get("amount");
    long deadline = JoinHandler.deadlineMs(ctx);
    long deadlineMs = deadline > 0 ? deadline : System.currentTimeMillis() + config.branchTimeoutMs();
    Future<Accounts.Result> work = workers.call(() ->
        participant.inBranch(tx.txId(), deadlineMs, c -> Accounts.move(c, tx.txId(), account, amount, move)));
    reply(ctx, work, result -> {
      switch (result) {
        case DONE -> {
          Map<String, Object> body = new LinkedHashMap<>();
          body.put("account", account);
          body.put(move == Accounts.Move.DEBIT ? "debited" : "credited", amount);
          body.put("txId", tx.txId());
          Replies.send(ctx, 200, body);
        }
        case NO_ACCOUNT -> Replies.error(ctx, 404, DemoErrors.ACCOUNT_UNKNOWN, config.name() + " has no account " + account);
        case INSUFFICIENT_FUNDS -> Replies.error(ctx, 409, DemoErrors.INSUFFICIENT_FUNDS,
            "account " + account + " at " + config.name() + " holds less than " + amount);
        case DUPLICATE -> Replies.error(ctx, 409, ErrorCodes.BRANCH_CONFLICT,
            "transaction " + tx.txId() + " already moved money on account " + account);
        case OVERFLOW -> Replies.error(ctx, 422, DemoErrors.INVALID_AMOUNT,
            "crediting " + amount + " would overflow account " + account);
      }
    });
  }

  // ---------------------------------------------------------------- helpers

  private Long accountId(RoutingContext ctx) {
    String raw = ctx.pathParam("id");
    long id;
    try {
      id = Long.parseLong(raw);
    } catch (NumberFormatException e) {
      id = -1;
    }
    if (id <= 0) {
      Replies.error(ctx, 400, DemoErrors.INVALID_ACCOUNT, "account id must be a positive integer, not '" + Replies.abbreviate(raw) + "'");
      return null;
    }
    return id;
  }

  /** Maps a database call's failure to a JSON 4xx/503; never a stack trace. */
  private <T> void reply(RoutingContext ctx, Future<T> f, java.util.function.Consumer<T> then) {
    f.onComplete(ar -> {
      if (ar.succeeded()) {
        then.accept(ar.result());
        return;
      }
      Throwable e = ar.cause();
      if (e instanceof BoundedWorkers.OverloadedException || e instanceof BranchLimitException) {
        Replies.error(ctx, 503, ErrorCodes.OVERLOADED, config.name() + " is overloaded: " + e.getMessage());
      } else if (e instanceof SQLException sql && BankDatabase.isLockTimeout(sql)) {
        Replies.error(ctx, 409, DemoErrors.ACCOUNT_BUSY, "the account is locked by another transfer; retry");
      } else if (e instanceof dev.duet.participant.BranchConflictException) {
        Replies.error(ctx, 409, ErrorCodes.TRANSACTION_NOT_ACTIVE, Replies.abbreviate(e.getMessage()));
      } else {
        log.warn("{} {} failed: {}", ctx.request().method(), ctx.request().path(), e.toString());
        Replies.error(ctx, 503, ErrorCodes.UNAVAILABLE, config.name() + " could not do it now: " + Replies.abbreviate(e.getMessage()));
      }
    });
  }

  @Override
  public void close() {
    for (HttpServer s : servers) s.close();
    if (coordinator != null) coordinator.close();
    if (participant != null) {
      try {
        participant.close();
      } catch (Exception e) {
        log.warn("closing the participant: {}", e.toString());
      }
    }
    if (workers != null) workers.close();
    if (pool != null) pool.close();
    vertx.close().toCompletionStage().toCompletableFuture().join();
  }
}

package dev.duet.coordinator.http;

import dev.duet.coordinator.metrics.CoordinatorMetrics;
import dev.duet.coordinator.protocol.Action.Target;
import dev.duet.coordinator.protocol.Answer;
import dev.duet.coordinator.protocol.Coordinator;
import dev.duet.coordinator.shell.CoordinatorServer;
import dev.duet.coordinator.shell.Shard;
import dev.duet.failpoints.Failpoints;
import dev.duet.wire.ErrorCodes;
import dev.duet.wire.Json;
import dev.duet.wire.Limits;
import dev.duet.wire.Messages.BeginRequest;
import dev.duet.wire.Messages.EnlistRequest;
import dev.duet.wire.Messages.ErrorBody;
import dev.duet.wire.Messages.TxList;
import dev.duet.wire.Messages.TxView;
import dev.duet.wire.Outcome;
import dev.duet.wire.TxIds;
import dev.duet.wire.TxState;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * <b>The coordinator's HTTP API is declared here</b>, in {@link #router}: one small handler per
 * route, one error mapper. Handlers validate, hand the request to the shard that owns the
 * transaction, and map the core's {@link Answer} to a response. They never block and hold no state.
 */
public final class Api {
  private static final Logger log = LoggerFactory.getLogger(Api.class);

  /** Participant names go into XA branch qualifiers and URLs: keep them plain. */
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1," + Limits.PARTICIPANT_NAME_BYTES_MAX + "}");
  private static final int LIST_LIMIT_MAX = 1000;
  private static final int LIST_LIMIT_DEFAULT = 100;

  private final CoordinatorServer server;
  private final CoordinatorMetrics metrics;
  private final PrometheusMeterRegistry registry;
  private final byte[] clientToken;
  private Router router;

  public Api(CoordinatorServer server, CoordinatorMetrics metrics, PrometheusMeterRegistry registry,
      String clientToken) {
    this.server = server;
    this.metrics = metrics;
    this.registry = registry;
    this.clientToken = clientToken == null ? null : ("Bearer " + clientToken).getBytes(StandardCharsets.UTF_8);
  }

  public synchronized Router router(Vertx vertx) {
    if (router != null) return router;
    Router r = Router.router(vertx);
    r.route().handler(BodyHandler.create(false).setBodyLimit(Limits.BODY_BYTES_MAX));
    r.get("/health").handler(this::health);
    r.get("/metrics").handler(this::metrics);
    if (server.config().chaos()) {
      r.get("/admin/failpoints").handler(this::failpoints);
      r.post("/admin/failpoints").handler(this::armFailpoints);
      r.delete("/admin/failpoints").handler(ctx -> {
        Failpoints.clear();
        failpoints(ctx);
      });
    }
    r.route("/v1/*").handler(this::authenticate);
    r.post("/v1/transactions").handler(this::begin);
    r.get("/v1/transactions").handler(this::list);
    r.get("/v1/transactions/:id").handler(this::status);
    r.post("/v1/transactions/:id/participants").handler(this::enlist);
    r.post("/v1/transactions/:id/commit").handler(this::commit);
    r.post("/v1/transactions/:id/rollback").handler(this::rollback);
    r.errorHandler(400, ctx -> error(ctx, 400, ErrorCodes.BAD_REQUEST, "bad request"));
    r.errorHandler(404, ctx -> error(ctx, 404, ErrorCodes.NOT_FOUND, "no such endpoint: " + ctx.request().method() + " " + ctx.request().path()));
    r.errorHandler(405, ctx -> error(ctx, 405, ErrorCodes.METHOD_NOT_ALLOWED, ctx.request().method() + " is not allowed on " + ctx.request().path()));
    r.errorHandler(413, ctx -> error(ctx, 413, ErrorCodes.BODY_TOO_LARGE, "request body is larger than " + Limits.BODY_BYTES_MAX + " bytes"));
    r.errorHandler(500, ctx -> {
      log.error("unexpected failure on {} {}", ctx.request().method(), ctx.request().path(), ctx.failure());
      error(ctx, 500, ErrorCodes.INTERNAL, "internal error; the coordinator logged the details");
    });
    router = r;
    return r;
  }

  // ---------------------------------------------------------------- handlers

  private void authenticate(RoutingContext ctx) {
    if (clientToken != null) {
      String given = ctx.request().getHeader("Authorization");
      if (given == null || !MessageDigest.isEqual(clientToken, given.getBytes(StandardCharsets.UTF_8))) {
        error(ctx, 401, ErrorCodes.UNAUTHORIZED, "missing or wrong bearer token");
        return;
      }
    }
    ctx.next();
  }

  private void begin(RoutingContext ctx) {
    Buffer body = ctx.body().buffer();
    Long timeoutMs = null;
    List<Target> participants = List.of();
    if (body != null && body.length() > 0) {
      BeginRequest req = readJson(ctx, body, BeginRequest.class);
      if (req == null) return;
      timeoutMs = req.timeoutMs();
      if (timeoutMs != null && (timeoutMs < Limits.TX_TIMEOUT_MS_MIN || timeoutMs > Limits.TX_TIMEOUT_MS_MAX)) {
        error(ctx, 400, ErrorCodes.BAD_REQUEST, "timeoutMs must be between " + Limits.TX_TIMEOUT_MS_MIN
            + " and " + Limits.TX_TIMEOUT_MS_MAX + " (default " + Limits.TX_TIMEOUT_MS_DEFAULT + ")");
        return;
      }
      if (req.participants() != null) {
        participants = participantsAtBegin(ctx, req.participants());
        if (participants == null) return;
      }
    }
    if (!server.decisionLog().healthy()) {
      error(ctx, 503, ErrorCodes.UNAVAILABLE, "the decision log has failed; the coordinator takes no new transactions");
      return;
    }
    String id = TxIds.next(System.currentTimeMillis());
    Long timeout = timeoutMs;
    List<Target> enlisted = participants;
    respond(ctx, server.shardFor(id).submit((core, rid, now) -> core.begin(id, timeout, enlisted, now)), a -> {
      if (!a.isRejection()) {
        metrics.begun();
        ctx.response().putHeader("Location", "/v1/transactions/" + id);
      }
      answer(ctx, a);
    });
  }

  private void enlist(RoutingContext ctx) {
    String id = txId(ctx);
    if (id == null) return;
    EnlistRequest req = readJson(ctx, ctx.body().buffer(), EnlistRequest.class);
    if (req == null) return;
    Target p = participant(ctx, req, "");
    if (p == null) return;
    respond(ctx, server.shardFor(id).submit((core, rid, now) -> core.enlist(id, p.name(), p.url(), now)),
        a -> answer(ctx, a));
  }

  /** A participant as enlisted, with its url normalized; null after answering 400. */
  private Target participant(RoutingContext ctx, EnlistRequest req, String where) {
    if (req == null || req.name() == null || !NAME.matcher(req.name()).matches()) {
      error(ctx, 400, ErrorCodes.BAD_REQUEST, where + "name must be 1-" + Limits.PARTICIPANT_NAME_BYTES_MAX
          + " characters of A-Z a-z 0-9 . _ -");
      return null;
    }
    String url = normalizeUrl(req.url());
    if (url == null) {
      error(ctx, 400, ErrorCodes.BAD_REQUEST, where + "url must be an absolute http(s) URL with a host, without query or fragment, at most "
          + Limits.PARTICIPANT_URL_CHARS_MAX + " characters");
      return null;
    }
    return new Target(req.name(), url);
  }

  /**
   * The participants of a begin request, each checked as an enlist would be; a name listed twice
   * with the same url counts once. Null after answering 400: then no transaction is begun.
   */
  private List<Target> participantsAtBegin(RoutingContext ctx, List<EnlistRequest> given) {
    if (given.size() > Limits.PARTICIPANTS_PER_TX_MAX) {
      error(ctx, 400, ErrorCodes.BAD_REQUEST, "a transaction takes at most " + Limits.PARTICIPANTS_PER_TX_MAX
          + " participants; got " + given.size());
      return null;
    }
    Map<String, Target> byName = new LinkedHashMap<>();
    for (int i = 0; i < given.size(); i++) {
      Target p = participant(ctx, given.get(i), "participants[" + i + "]: ");
      if (p == null) return null;
      Target seen = byName.putIfAbsent(p.name(), p);
      if (seen != null && !seen.url().equals(p.url())) {
        error(ctx, 400, ErrorCodes.BAD_REQUEST, "participants[" + i + "]: '" + p.name()
            + "' is listed twice with different urls");
        return null;
      }
    }
    return List.copyOf(byName.values());
  }

  private void commit(RoutingContext ctx) {
    String id = txId(ctx);
    if (id == null) return;
    String waitParam = ctx.request().getParam("wait");
    if (waitParam != null && !waitParam.equals("true") && !waitParam.equals("false")) {
      error(ctx, 400, ErrorCodes.BAD_REQUEST, "wait must be true or false");
      return;
    }
    boolean wait = "true".equals(waitParam);
    long startNanos = System.nanoTime();
    respond(ctx, server.shardFor(id).submit((core, rid, now) -> core.commit(id, rid, wait, now)), a -> {
      metrics.commitRequest(System.nanoTime() - startNanos);
      answer(ctx, a);
    });
  }

  private void rollback(RoutingContext ctx) {
    String id = txId(ctx);
    if (id == null) return;
    respond(ctx, server.shardFor(id).submit((core, rid, now) -> core.rollback(id, rid, now)), a -> {
      if (!a.isRejection() && a.view() == null && a.outcome() == Outcome.ABORTED) {
        // What the client asked for happened (or had already): 200, unlike an aborted commit.
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("id", a.txId());
        body.put("outcome", Outcome.ABORTED);
        if (a.message() != null) body.put("reason", a.message());
        send(ctx, 200, body);
      } else {
        answer(ctx, a);
      }
    });
  }

  private void status(RoutingContext ctx) {
    String id = txId(ctx);
    if (id == null) return;
    respond(ctx, server.shardFor(id).query(core -> core.status(id)), a -> answer(ctx, a));
  }

  private void list(RoutingContext ctx) {
    TxState state = null;
    String s = ctx.request().getParam("state");
    if (s != null) {
      try {
        state = TxState.valueOf(s);
      } catch (IllegalArgumentException e) {
        error(ctx, 400, ErrorCodes.BAD_REQUEST, "state must be one of " + java.util.Arrays.toString(TxState.values()));
        return;
      }
    }
    int limit = LIST_LIMIT_DEFAULT;
    String l = ctx.request().getParam("limit");
    if (l != null) {
      try {
        limit = Integer.parseInt(l);
      } catch (NumberFormatException e) {
        limit = -1;
      }
      if (limit < 1 || limit > LIST_LIMIT_MAX) {
        error(ctx, 400, ErrorCodes.BAD_REQUEST, "limit must be a number from 1 to " + LIST_LIMIT_MAX);
        return;
      }
    }
    String after = ctx.request().getParam("after");
    if (after != null && !TxIds.isValid(after)) {
      error(ctx, 400, ErrorCodes.BAD_REQUEST, "after must be a transaction id");
      return;
    }
    TxState st = state;
    int lim = limit;
    List<Future<List<TxView>>> parts = new ArrayList<>();
    for (Shard shard : server.shards()) parts.add(shard.query(core -> core.list(st, after, lim)));
    respond(ctx, Future.all(parts), all -> {
      List<TxView> merged = new ArrayList<>();
      for (Future<List<TxView>> f : parts) merged.addAll(f.result());
      merged.sort(Comparator.comparing(TxView::id));
      List<TxView> page = merged.size() > lim ? merged.subList(0, lim) : merged;
      String next = page.size() == lim ? page.get(page.size() - 1).id() : null;
      send(ctx, 200, new TxList(page, next));
    });
  }

  private void health(RoutingContext ctx) {
    Coordinator.Stats st = server.stats();
    boolean up = server.decisionLog().healthy();
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("status", up ? "UP" : "DOWN");
    if (!up) {
      body.put("error", ErrorCodes.UNAVAILABLE);
      body.put("message", "the decision log has failed; restart the coordinator to recover");
    }
    body.put("liveTransactions", st.live());
    body.put("committing", st.committing());
    body.put("phase2Retrying", st.retrying());
    body.put("phase2Stuck", st.stuck());
    body.put("recovered", server.recovered());
    send(ctx, up ? 200 : 503, body);
  }

  /** Chaos mode only: what is armed and what fired. */
  private void failpoints(RoutingContext ctx) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("known", new java.util.TreeSet<>(Failpoints.KNOWN));
    body.put("armed", Failpoints.armedNow());
    body.put("fired", Failpoints.fired());
    send(ctx, 200, body);
  }

  /** Chaos mode only: {@code {"spec": "coordinator.after-decision=crash*1"}}. */
  private void armFailpoints(RoutingContext ctx) {
    FailpointSpec req = readJson(ctx, ctx.body().buffer(), FailpointSpec.class);
    if (req == null) return;
    if (req.spec() == null || req.spec().isBlank()) {
      error(ctx, 400, ErrorCodes.BAD_REQUEST, "spec is required, e.g. coordinator.after-decision=crash*1");
      return;
    }
    try {
      Failpoints.configure(req.spec());
    } catch (IllegalArgumentException e) {
      error(ctx, 400, ErrorCodes.BAD_REQUEST, e.getMessage());
      return;
    }
    failpoints(ctx);
  }

  record FailpointSpec(String spec) {}

  private void metrics(RoutingContext ctx) {
    ctx.response().putHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8").end(registry.scrape());
  }

  // ---------------------------------------------------------------- mapping

  /** Maps the core's answer to HTTP: the only place status codes are chosen. */
  private void answer(RoutingContext ctx, Answer a) {
    if (a.view() != null) {
      send(ctx, a.created() ? 201 : 200, a.view());
      return;
    }
    if (a.errorCode() != null) {
      int status = switch (a.errorCode()) {
        case ErrorCodes.TRANSACTION_UNKNOWN -> 404;
        case ErrorCodes.TRANSACTION_NOT_ACTIVE, ErrorCodes.ALREADY_COMMITTED, ErrorCodes.ALREADY_ABORTED,
            ErrorCodes.PARTICIPANT_CONFLICT, ErrorCodes.TOO_MANY_PARTICIPANTS -> 409;
        case ErrorCodes.OVERLOADED, ErrorCodes.UNAVAILABLE -> 503;
        case ErrorCodes.OUTCOME_UNKNOWN -> 504;
        default -> 400;
      };
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("error", a.errorCode());
      body.put("message", a.message());
      if (a.txId() != null) body.put("id", a.txId());
      if (a.outcome() != null) body.put("outcome", a.outcome());
      send(ctx, status, body);
      return;
    }
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("id", a.txId());
    body.put("outcome", a.outcome());
    if (a.outcome() == Outcome.COMMITTED) {
      send(ctx, 200, body);
    } else if (a.outcome() == Outcome.ABORTED) {
      body.put("reason", a.message());
      body.put("error", ErrorCodes.ABORTED);
      body.put("message", a.message());
      send(ctx, 409, body);
    } else {
      body.put("error", ErrorCodes.OUTCOME_UNKNOWN);
      body.put("message", a.message());
      send(ctx, 504, body);
    }
  }

  /** Runs {@code then} on the request's own event loop once {@code f} completes. */
  private <T> void respond(RoutingContext ctx, Future<T> f, Consumer<T> then) {
    Context requestContext = Vertx.currentContext();
    f.onComplete(ar -> requestContext.runOnContext(v -> {
      if (ar.failed()) {
        ctx.fail(500, ar.cause());
      } else {
        then.accept(ar.result());
      }
    }));
  }

  private String txId(RoutingContext ctx) {
    String id = ctx.pathParam("id");
    if (!TxIds.isValid(id)) {
      error(ctx, 400, ErrorCodes.BAD_REQUEST, "'" + abbreviate(id) + "' is not a transaction id (26 characters of Crockford base32)");
      return null;
    }
    return id;
  }

  private <T> T readJson(RoutingContext ctx, Buffer body, Class<T> type) {
    try {
      return Json.readStrict(body == null ? null : body.getBytes(), type);
    } catch (Json.BadJson e) {
      error(ctx, 400, ErrorCodes.BAD_JSON, "malformed request body: " + e.getMessage());
      return null;
    }
  }

  static String normalizeUrl(String url) {
    if (url == null || url.isEmpty() || url.length() > Limits.PARTICIPANT_URL_CHARS_MAX) return null;
    URI uri;
    try {
      uri = new URI(url);
    } catch (Exception e) {
      return null;
    }
    String scheme = uri.getScheme();
    if (scheme == null || !(scheme.equals("http") || scheme.equals("https"))) return null;
    if (uri.getHost() == null || uri.getRawQuery() != null || uri.getRawFragment() != null || uri.getRawUserInfo() != null) return null;
    String s = uri.toString();
    while (s.endsWith("/")) s = s.substring(0, s.length() - 1);
    return s;
  }

  private static String abbreviate(String s) {
    if (s == null) return "";
    return s.length() > 40 ? s.substring(0, 40) + "..." : s;
  }

  static void error(RoutingContext ctx, int status, String code, String message) {
    send(ctx, status, new ErrorBody(code, message));
  }

  static void send(RoutingContext ctx, int status, Object body) {
    if (ctx.response().ended()) return;
    ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json")
        .end(Buffer.buffer(Json.write(body)));
  }
}

package dev.duet.participant.http;

import dev.duet.failpoints.Failpoints;
import dev.duet.participant.BranchConflictException;
import dev.duet.participant.Participant;
import dev.duet.wire.AckStatus;
import dev.duet.wire.Check;
import dev.duet.wire.ErrorCodes;
import dev.duet.wire.Headers;
import dev.duet.wire.Json;
import dev.duet.wire.Limits;
import dev.duet.wire.Messages.AckReply;
import dev.duet.wire.Messages.ErrorBody;
import dev.duet.wire.Messages.ParticipantRequest;
import dev.duet.wire.Messages.PrepareReply;
import dev.duet.wire.RequestSigner;
import dev.duet.wire.TxIds;
import dev.duet.wire.Vote;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.Future;
import io.vertx.core.http.HttpServer;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * <b>The participant's HTTP API is declared here</b>, in {@link #mount}: the endpoints the
 * coordinator calls. Handlers check the signature, read the body strictly, validate, and run the
 * blocking {@link Participant} call on a bounded worker pool; they never block the event loop.
 *
 * <p>Status codes: 200 with a {@code PrepareReply} or {@code AckReply}; 400 {@code BAD_JSON} /
 * {@code BAD_REQUEST}; 401 {@code BAD_SIGNATURE}; 404 {@code NOT_FOUND}; 405
 * {@code METHOD_NOT_ALLOWED}; 409 {@code BRANCH_CONFLICT}; 413 {@code BODY_TOO_LARGE}; 415
 * {@code UNSUPPORTED_MEDIA_TYPE}; 503 {@code OVERLOADED} or {@code UNAVAILABLE} (the participant
 * could not do it now: a failed prepare is an ABORT vote, a failed commit/rollback is retried).
 */
public final class ParticipantEndpoints {
  private static final Logger log = LoggerFactory.getLogger(ParticipantEndpoints.class);

  private static final Set<String> POST_PATHS = Set.of("/prepare", "/commit", "/rollback");
  private static final String IN_DOUBT_PATH = "/in-doubt";
  /** Characters of an exception message passed on to the caller. */
  private static final int MESSAGE_CHARS_MAX = 300;

  private final Participant participant;
  private final RequestSigner verifier;
  private final WorkerExecutor workers;
  private final int pendingCallsMax;
  private final AtomicInteger pending = new AtomicInteger();
  private final String basePath;

  private ParticipantEndpoints(Vertx vertx, String basePath, Participant participant, ParticipantOptions options) {
    this.participant = participant;
    this.basePath = basePath;
    this.verifier = options.signingSecret() == null ? null : new RequestSigner(options.signingSecret());
    this.workers = vertx.createSharedWorkerExecutor("duet-participant-" + participant.name(), options.workerPoolSize());
    this.pendingCallsMax = options.pendingCallsMax();
  }

  /**
   * Mounts {@code POST {basePath}/prepare}, {@code /commit}, {@code /rollback} and
   * {@code GET {basePath}/in-doubt} on {@code router}. Every other method or path under
   * {@code basePath} gets a JSON 404 or 405, so the base path belongs to the SDK. The URL to enlist
   * with is {@code http://host:port{basePath}}.
   *
   * @param basePath e.g. {@code /duet}; starts with '/', does not end with one
   */
  public static void mount(Vertx vertx, Router router, String basePath, Participant participant,
      ParticipantOptions options) {
    Check.notNull(participant, "participant");
    Check.notNull(options, "options");
    Check.that(basePath != null && basePath.startsWith("/") && !basePath.endsWith("/") && !basePath.contains("*")
        && !basePath.contains(":"), "basePath starts with '/', does not end with '/', has no '*' or ':'");
    ParticipantEndpoints e = new ParticipantEndpoints(vertx, basePath, participant, options);
    String all = basePath + "/*";
    router.route(all).handler(BodyHandler.create(false).setBodyLimit(Limits.BODY_BYTES_MAX))
        .failureHandler(ParticipantEndpoints::failure);
    router.post(basePath + "/prepare").handler(ctx -> e.call(ctx, false,
        req -> () -> {
          Failpoints.hit(Failpoints.PARTICIPANT_BEFORE_PREPARE);
          Vote vote = Check.notNull(participant.prepare(req.txId()), "prepare's vote");
          Failpoints.hit(Failpoints.PARTICIPANT_AFTER_PREPARE);
          return new PrepareReply(vote, vote == Vote.ABORT ? "participant '" + participant.name() + "' voted ABORT" : null);
        }));
    router.post(basePath + "/commit").handler(ctx -> e.call(ctx, true,
        req -> () -> {
          AckStatus status = Check.notNull(participant.commit(req.txId(), req.isOnePhase()), "commit's status");
          Failpoints.hit(Failpoints.PARTICIPANT_AFTER_COMMIT);
          return new AckReply(status, null);
        }));
    router.post(basePath + "/rollback").handler(ctx -> e.call(ctx, false,
        req -> () -> new AckReply(Check.notNull(participant.rollback(req.txId()), "rollback's status"), null)));
    router.get(basePath + IN_DOUBT_PATH).handler(e::inDoubt);
    router.route(all).handler(e::notFound);
    router.route(basePath).handler(e::notFound);
  }

  /**
   * For a service without a router of its own: starts an HTTP server on {@code host:port} (0 picks
   * a free port) serving only the participant endpoints under {@code basePath}.
   */
  public static Future<HttpServer> serve(Vertx vertx, String host, int port, String basePath,
      Participant participant, ParticipantOptions options) {
    Router router = Router.router(vertx);
    mount(vertx, router, basePath, participant, options);
    router.route().handler(ctx -> error(ctx, 404, ErrorCodes.NOT_FOUND,
        "no such endpoint: " + ctx.request().method() + " " + ctx.request().path()));
    return vertx.createHttpServer().requestHandler(router).listen(port, host);
  }

  // ---------------------------------------------------------------- handlers

  /** Verifies, parses, validates, then runs {@code work} on the worker pool. */
  private void call(RoutingContext ctx, boolean onePhaseAllowed,
      Function<ParticipantRequest, Callable<Object>> work) {
    Buffer body = ctx.body().buffer();
    byte[] bytes = body == null ? new byte[0] : body.getBytes();
    if (verifier != null) {
      String why = verifier.verify(ctx.request().method().name(), ctx.request().path(),
          ctx.request().getHeader(Headers.TIMESTAMP), ctx.request().getHeader(Headers.SIGNATURE), bytes,
          System.currentTimeMillis());
      if (why != null) {
        error(ctx, 401, ErrorCodes.BAD_SIGNATURE, why);
        return;
      }
    }
    String type = ctx.request().getHeader("Content-Type");
    if (type != null && !type.toLowerCase().startsWith("application/json")) {
      error(ctx, 415, ErrorCodes.UNSUPPORTED_MEDIA_TYPE, "Content-Type must be application/json");
      return;
    }
    ParticipantRequest req;
    try {
      req = Json.readStrict(bytes, ParticipantRequest.class);
    } catch (Json.BadJson ex) {
      error(ctx, 400, ErrorCodes.BAD_JSON, "malformed request body: " + ex.getMessage());
      return;
    }
    String invalid = validate(req, onePhaseAllowed);
    if (invalid != null) {
      error(ctx, 400, ErrorCodes.BAD_REQUEST, invalid);
      return;
    }
    if (pending.incrementAndGet() > pendingCallsMax) {
      pending.decrementAndGet();
      error(ctx, 503, ErrorCodes.OVERLOADED, "participant has " + pendingCallsMax + " calls pending (pendingCallsMax); retry later");
      return;
    }
    Callable<Object> task = work.apply(req);
    workers.executeBlocking(task, false).onComplete(ar -> {
      pending.decrementAndGet();
      if (ar.succeeded()) {
        send(ctx, 200, ar.result());
      } else {
        mapFailure(ctx, req, ar.cause());
      }
    });
  }

  private String validate(ParticipantRequest req, boolean onePhaseAllowed) {
    if (!TxIds.isValid(req.txId())) {
      return "txId must be a transaction id (26 characters of Crockford base32)";
    }
    if (req.participant() == null || !req.participant().equals(participant.name())) {
      return "participant must be '" + participant.name() + "', the participant served at " + basePath;
    }
    if (req.onePhase() != null && !onePhaseAllowed) {
      return "onePhase is only allowed on commit";
    }
    return null;
  }

  private void mapFailure(RoutingContext ctx, ParticipantRequest req, Throwable cause) {
    if (cause instanceof BranchConflictException) {
      error(ctx, 409, ErrorCodes.BRANCH_CONFLICT, abbreviate(cause.getMessage()));
      return;
    }
    // Whatever went wrong, the answer is "not now": the coordinator counts a failed prepare as an
    // ABORT vote and retries phase 2. The details stay in the log, not in the reply.
    log.warn("participant {} could not handle {} of {}: {}", participant.name(), ctx.request().path(), req.txId(),
        cause.toString(), cause instanceof Failpoints.InjectedFault ? null : cause);
    error(ctx, 503, ErrorCodes.UNAVAILABLE, "participant could not do it now: " + abbreviate(cause.getMessage()));
  }

  private void inDoubt(RoutingContext ctx) {
    workers.executeBlocking(participant::inDoubt, false).onComplete(ar -> {
      if (ar.failed()) {
        log.warn("participant {} could not list in-doubt branches", participant.name(), ar.cause());
        error(ctx, 503, ErrorCodes.UNAVAILABLE, "could not list in-doubt branches: " + abbreviate(ar.cause().getMessage()));
        return;
      }
      List<String> ids = ar.result();
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("participant", participant.name());
      body.put("count", ids.size());
      body.put("inDoubt", ids);
      send(ctx, 200, body);
    });
  }

  private void notFound(RoutingContext ctx) {
    String path = ctx.request().path();
    String sub = path.startsWith(basePath) ? path.substring(basePath.length()) : path;
    boolean known = POST_PATHS.contains(sub) || sub.equals(IN_DOUBT_PATH);
    if (known) {
      String allowed = sub.equals(IN_DOUBT_PATH) ? "GET" : "POST";
      ctx.response().putHeader("Allow", allowed);
      error(ctx, 405, ErrorCodes.METHOD_NOT_ALLOWED, ctx.request().method() + " is not allowed on " + path + "; use " + allowed);
    } else {
      error(ctx, 404, ErrorCodes.NOT_FOUND, "no such endpoint: " + ctx.request().method() + " " + path
          + "; a participant serves POST " + basePath + "/prepare, /commit, /rollback and GET " + basePath + IN_DOUBT_PATH);
    }
  }

  private static void failure(RoutingContext ctx) {
    int status = ctx.statusCode();
    if (status == 413) {
      error(ctx, 413, ErrorCodes.BODY_TOO_LARGE, "request body is larger than " + Limits.BODY_BYTES_MAX + " bytes");
    } else if (status >= 400 && status < 500) {
      error(ctx, status, ErrorCodes.BAD_REQUEST, "bad request");
    } else {
      log.error("unexpected failure on {} {}", ctx.request().method(), ctx.request().path(), ctx.failure());
      error(ctx, 500, ErrorCodes.INTERNAL, "internal error; the participant logged the details");
    }
  }

  // ---------------------------------------------------------------- replies

  private static String abbreviate(String s) {
    if (s == null) return "(no message)";
    return s.length() > MESSAGE_CHARS_MAX ? s.substring(0, MESSAGE_CHARS_MAX) + "..." : s;
  }

  static void error(RoutingContext ctx, int status, String code, String message) {
    send(ctx, status, new ErrorBody(code, message));
  }

  static void send(RoutingContext ctx, int status, Object body) {
    if (ctx.response().ended() || ctx.response().closed()) return;
    ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json")
        .end(Buffer.buffer(Json.write(body)));
  }
}

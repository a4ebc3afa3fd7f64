package dev.duet.bank.web;

import dev.duet.wire.ErrorCodes;
import dev.duet.wire.Json;
import dev.duet.wire.Messages.ErrorBody;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** JSON replies and the one error mapper every demo service installs. */
public final class Replies {
  private static final Logger log = LoggerFactory.getLogger(Replies.class);
  /** Characters of an exception message passed on to a caller. */
  private static final int MESSAGE_CHARS_MAX = 300;

  private Replies() {}

  public static void send(RoutingContext ctx, int status, Object body) {
    if (ctx.response().ended() || ctx.response().closed()) return;
    ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json")
        .end(Buffer.buffer(Json.write(body)));
  }

  /** Sends a reply that is already JSON text (a stored reply, replayed). */
  public static void sendRaw(RoutingContext ctx, int status, String json) {
    if (ctx.response().ended() || ctx.response().closed()) return;
    ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json").end(json);
  }

  public static void error(RoutingContext ctx, int status, String code, String message) {
    send(ctx, status, new ErrorBody(code, message));
  }

  /**
   * The request body as a strict JSON object whose only field may be {@code field}, or null after
   * answering 400 (BAD_JSON or BAD_REQUEST, naming {@code shape}, e.g. {"amount": n}).
   */
  public static com.fasterxml.jackson.databind.JsonNode objectWithOnly(RoutingContext ctx, String field,
      String shape) {
    Buffer buf = ctx.body().buffer();
    com.fasterxml.jackson.databind.JsonNode root;
    try {
      root = Json.STRICT.readTree(buf == null ? new byte[0] : buf.getBytes());
    } catch (Exception e) {
      error(ctx, 400, ErrorCodes.BAD_JSON, "malformed request body: " + abbreviate(e.getMessage()));
      return null;
    }
    if (root == null || !root.isObject()) {
      error(ctx, 400, ErrorCodes.BAD_REQUEST, "the body must be a JSON object " + shape);
      return null;
    }
    for (java.util.Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!f.equals(field)) {
        error(ctx, 400, ErrorCodes.BAD_REQUEST, "unknown field '" + abbreviate(f) + "'; the body is " + shape);
        return null;
      }
    }
    return root;
  }

  public static String abbreviate(String s) {
    if (s == null) return "(no message)";
    return s.length() > MESSAGE_CHARS_MAX ? s.substring(0, MESSAGE_CHARS_MAX) + "..." : s;
  }

  /** JSON bodies for the router's own failures: never an HTML page or a stack trace. */
  public static void installErrorHandlers(Router r, int bodyBytesMax) {
    r.errorHandler(400, ctx -> error(ctx, 400, ErrorCodes.BAD_REQUEST, "bad request"));
    r.errorHandler(404, ctx -> error(ctx, 404, ErrorCodes.NOT_FOUND,
        "no such endpoint: " + ctx.request().method() + " " + ctx.request().path()));
    r.errorHandler(405, ctx -> error(ctx, 405, ErrorCodes.METHOD_NOT_ALLOWED,
        ctx.request().method() + " is not allowed on " + ctx.request().path()));
    r.errorHandler(413, ctx -> error(ctx, 413, ErrorCodes.BODY_TOO_LARGE,
        "request body is larger than " + bodyBytesMax + " bytes"));
    r.errorHandler(415, ctx -> error(ctx, 415, ErrorCodes.UNSUPPORTED_MEDIA_TYPE, "unsupported media type"));
    r.errorHandler(500, ctx -> {
      log.error("unexpected failure on {} {}", ctx.request().method(), ctx.request().path(), ctx.failure());
      error(ctx, 500, ErrorCodes.INTERNAL, "internal error; the service logged the details");
    });
  }
}

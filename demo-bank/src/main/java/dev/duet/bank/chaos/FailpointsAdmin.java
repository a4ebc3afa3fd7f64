package dev.duet.bank.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import dev.duet.bank.web.Replies;
import dev.duet.failpoints.Failpoints;
import dev.duet.wire.ErrorCodes;
import dev.duet.wire.Json;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeSet;

/**
 * {@code GET/POST/DELETE /admin/failpoints} on a bank started with {@code --chaos}, the same
 * contract as the coordinator's: POST {@code {"spec": "participant.after-prepare=crash*1"}} arms,
 * DELETE disarms all, every answer lists what is known, armed and fired. A bad spec is a 400 and
 * arms nothing.
 */
public final class FailpointsAdmin {
  public static final String PATH = "/admin/failpoints";
  /** A spec names at most the seven failpoints with a short action each: a few hundred bytes. */
  static final int BODY_BYTES_MAX = 4096;

  private FailpointsAdmin() {}

  public static void mount(Router r) {
    r.get(PATH).handler(FailpointsAdmin::show);
    r.post(PATH).handler(BodyHandler.create(false).setBodyLimit(BODY_BYTES_MAX)).handler(FailpointsAdmin::arm);
    r.delete(PATH).handler(ctx -> {
      Failpoints.clear();
      show(ctx);
    });
  }

  private static void show(RoutingContext ctx) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("known", new TreeSet<>(Failpoints.KNOWN));
    body.put("armed", Failpoints.armedNow());
    body.put("fired", Failpoints.fired());
    Replies.send(ctx, 200, body);
  }

  private static void arm(RoutingContext ctx) {
    Buffer buf = ctx.body().buffer();
    JsonNode root;
    try {
      root = Json.STRICT.readTree(buf == null ? new byte[0] : buf.getBytes());
    } catch (Exception e) {
      Replies.error(ctx, 400, ErrorCodes.BAD_JSON, "malformed request body: " + Replies.abbreviate(e.getMessage()));
      return;
    }
    if (root == null || !root.isObject()) {
      Replies.error(ctx, 400, ErrorCodes.BAD_REQUEST, "the body must be a JSON object {\"spec\": \"name=action\"}");
      return;
    }
    for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!f.equals("spec")) {
        Replies.error(ctx, 400, ErrorCodes.BAD_REQUEST, "unknown field '" + Replies.abbreviate(f) + "'; the body is {\"spec\": \"...\"}");
        return;
      }
    }
    JsonNode spec = root.get("spec");
    if (spec == null || !spec.isTextual() || spec.asText().isBlank()) {
      Replies.error(ctx, 400, ErrorCodes.BAD_REQUEST, "spec is required, e.g. participant.after-prepare=crash*1");
      return;
    }
    try {
      Failpoints.configure(spec.asText()); // parses every part before arming any
    } catch (IllegalArgumentException e) {
      Replies.error(ctx, 400, ErrorCodes.BAD_REQUEST, e.getMessage());
      return;
    }
    show(ctx);
  }
}

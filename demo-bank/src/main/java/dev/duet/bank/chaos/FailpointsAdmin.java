package dev.duet.bank.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import dev.duet.bank.web.Replies;
import dev.duet.failpoints.Failpoints;
import dev.duet.wire.ErrorCodes;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
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
    JsonNode root = Replies.objectWithOnly(ctx, "spec", "{\"spec\": \"name=action\"}");
    if (root == null) return;
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

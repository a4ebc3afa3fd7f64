package dev.duet.bank.faults;

import com.fasterxml.jackson.databind.JsonNode;
import dev.duet.wire.Json;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** A blocking JSON client for the admin endpoints: what a user's curl would do. */
final class Http {
  private static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  record Response(int status, JsonNode json, String text) {
    String str(String field) {
      JsonNode n = json == null ? null : json.get(field);
      return n == null || n.isNull() ? null : n.asText();
    }
  }

  static Response send(String method, String url, String body) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30))
        .header("Content-Type", "application/json")
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    try {
      HttpResponse<String> r = CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofString());
      JsonNode json = null;
      try {
        json = Json.LENIENT.readTree(r.body());
      } catch (Exception notJson) {
        // left null: the assertion on it will say so
      }
      return new Response(r.statusCode(), json, r.body());
    } catch (Exception e) {
      throw new RuntimeException(e);
    }
  }
}

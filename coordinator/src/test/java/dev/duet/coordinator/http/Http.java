package dev.duet.coordinator.http;

import com.fasterxml.jackson.databind.JsonNode;
import dev.duet.wire.Json;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** A blocking JSON client for tests: what a user's curl would do. */
public final class Http {
  private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final String base;
  private volatile String token;

  public Http(String base) {
    this.base = base;
  }

  public Http withToken(String token) {
    this.token = token;
    return this;
  }

  public record Response(int status, JsonNode json, String text, HttpResponse<String> raw) {
    public String str(String field) {
      JsonNode n = json == null ? null : json.get(field);
      return n == null || n.isNull() ? null : n.asText();
    }
  }

  public Response post(String path, String body) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30))
        .header("Content-Type", "application/json")
        .POST(body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    return send(b);
  }

  public Response get(String path) {
    return send(HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30)).GET());
  }

  public Response method(String method, String path) {
    return send(HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30))
        .method(method, HttpRequest.BodyPublishers.noBody()));
  }

  private Response send(HttpRequest.Builder b) {
    if (token != null) b.header("Authorization", "Bearer " + token);
    try {
      HttpResponse<String> r = client.send(b.build(), HttpResponse.BodyHandlers.ofString());
      JsonNode json = null;
      try {
        json = Json.LENIENT.readTree(r.body());
      } catch (Exception notJson) {
        // left null: the assertion on it will say so
      }
      return new Response(r.statusCode(), json, r.body(), r);
    } catch (Exception e) {
      throw new RuntimeException(e);
    }
  }
}

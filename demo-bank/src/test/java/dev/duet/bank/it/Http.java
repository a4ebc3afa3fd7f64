package dev.duet.bank.it;

import com.fasterxml.jackson.databind.JsonNode;
import dev.duet.wire.Json;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** A blocking JSON client for the demo-bank tests: what a user's curl would do. */
public final class Http {
  private static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  public record Response(int status, JsonNode json, String text) {
    public String str(String field) {
      JsonNode n = json == null ? null : json.get(field);
      return n == null || n.isNull() ? null : n.asText();
    }
  }

  public static Response post(String url, String body, String... headers) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30))
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
    for (int i = 0; i < headers.length; i += 2) b.header(headers[i], headers[i + 1]);
    return send(b);
  }

  public static Response get(String url) {
    return send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30)).GET());
  }

  /** Any method; {@code body} null for none. */
  public static Response send(String method, String url, String body) {
    return send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30))
        .header("Content-Type", "application/json")
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body)));
  }

  private static Response send(HttpRequest.Builder b) {
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

  public static String transfer(String fromBank, long fromAccount, String toBank, long toAccount, long amount) {
    return "{\"from\":{\"bank\":\"" + fromBank + "\",\"account\":" + fromAccount + "},\"to\":{\"bank\":\"" + toBank
        + "\",\"account\":" + toAccount + "},\"amount\":" + amount + "}";
  }
}

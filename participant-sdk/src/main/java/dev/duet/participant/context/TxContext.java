package dev.duet.participant.context;

import dev.duet.wire.Check;
import dev.duet.wire.Headers;
import dev.duet.wire.Limits;
import dev.duet.wire.TxIds;
import java.net.URI;

/**
 * A transaction as it travels between services: the coordinator's base URL and the transaction id.
 * It is carried in one header, {@link Headers#TRANSACTION} ({@code Duet-Transaction}), whose value is
 * the transaction's URL at the coordinator: {@code http://coordinator:7070/v1/transactions/<id>}.
 *
 * @param coordinatorUrl e.g. {@code http://127.0.0.1:7070}, no trailing slash
 * @param txId the coordinator's transaction id
 */
public record TxContext(String coordinatorUrl, String txId) {

  public static final String HEADER = Headers.TRANSACTION;
  private static final String PATH = "/v1/transactions/";

  public TxContext {
    Check.that(coordinatorUrl != null && !coordinatorUrl.endsWith("/"), "coordinatorUrl without trailing slash");
    Check.that(TxIds.isValid(txId), "txId is a transaction id");
  }

  /** The header value: the transaction's URL at the coordinator. */
  public String headerValue() {
    return coordinatorUrl + PATH + txId;
  }

  /**
   * Reads a {@code Duet-Transaction} header value.
   *
   * @throws IllegalArgumentException with a message fit for the caller if it is not an absolute
   *     http(s) URL ending in {@code /v1/transactions/<id>}
   */
  public static TxContext parse(String headerValue) {
    if (headerValue == null || headerValue.isBlank()) {
      throw new IllegalArgumentException(HEADER + " header is empty");
    }
    if (headerValue.length() > Limits.PARTICIPANT_URL_CHARS_MAX) {
      throw new IllegalArgumentException(HEADER + " header is longer than " + Limits.PARTICIPANT_URL_CHARS_MAX + " characters");
    }
    String v = headerValue.trim();
    URI uri;
    try {
      uri = new URI(v);
    } catch (Exception e) {
      throw new IllegalArgumentException(HEADER + " header is not a URL: " + e.getMessage());
    }
    String scheme = uri.getScheme();
    if (scheme == null || !(scheme.equals("http") || scheme.equals("https")) || uri.getHost() == null
        || uri.getRawQuery() != null || uri.getRawFragment() != null || uri.getRawUserInfo() != null) {
      throw new IllegalArgumentException(HEADER + " header must be an absolute http(s) URL without query or fragment,"
          + " e.g. http://coordinator:7070" + PATH + "<id>");
    }
    String path = uri.getRawPath();
    int at = path == null ? -1 : path.lastIndexOf(PATH);
    if (at < 0) {
      throw new IllegalArgumentException(HEADER + " header must end in " + PATH + "<id>");
    }
    String id = path.substring(at + PATH.length());
    if (!TxIds.isValid(id)) {
      throw new IllegalArgumentException(HEADER + " header: '" + (id.length() > 40 ? id.substring(0, 40) + "..." : id)
          + "' is not a transaction id (26 characters of Crockford base32)");
    }
    String base = v.substring(0, v.length() - (path.length() - at));
    return new TxContext(base, id);
  }
}

package dev.duet.wire;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * HMAC-SHA256 request signing between coordinator and participants. The signature covers
 * {@code METHOD \n PATH \n TIMESTAMP \n BODY}: a captured request cannot be replayed outside the
 * window nor be changed in method, path or body. Sent as {@code Duet-Signature: v1=<hex>} with
 * {@code Duet-Timestamp: <epoch ms>}.
 */
public final class RequestSigner {
  private static final String ALGORITHM = "HmacSHA256";
  private static final String PREFIX = "v1=";

  private final SecretKeySpec key;
  private final long windowMs;
  private final ThreadLocal<Mac> macs = ThreadLocal.withInitial(this::newMac);

  public RequestSigner(String secret, long windowMs) {
    Check.that(secret != null && secret.length() >= 16, "a signing secret has at least 16 chars");
    Check.that(windowMs > 0, "positive replay window");
    this.key = new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), ALGORITHM);
    this.windowMs = windowMs;
  }

  public RequestSigner(String secret) {
    this(secret, Limits.SIGNATURE_WINDOW_MS);
  }

  /** The value of the {@link Headers#SIGNATURE} header for this request. */
  public String sign(String method, String path, long timestampMs, byte[] body) {
    return PREFIX + HexFormat.of().formatHex(mac(method, path, timestampMs, body));
  }

  /** The reason a request fails verification, or null if it passes. */
  public String verify(
      String method, String path, String timestampHeader, String signatureHeader, byte[] body,
      long nowMs) {
    if (timestampHeader == null || signatureHeader == null) {
      return "missing " + Headers.TIMESTAMP + " or " + Headers.SIGNATURE + " header";
    }
    long ts;
    try {
      ts = Long.parseLong(timestampHeader.trim());
    } catch (NumberFormatException e) {
      return Headers.TIMESTAMP + " is not a number";
    }
    if (Math.abs(nowMs - ts) > windowMs) {
      return "signature timestamp is outside the " + windowMs + " ms window";
    }
    if (!signatureHeader.startsWith(PREFIX)) {
      return "unknown signature scheme";
    }
    byte[] given;
    try {
      given = HexFormat.of().parseHex(signatureHeader.substring(PREFIX.length()).trim());
    } catch (IllegalArgumentException e) {
      return "signature is not hex";
    }
    byte[] expected = mac(method, path, ts, body);
    // Constant time: a forger learns nothing from how long the comparison took.
    return MessageDigest.isEqual(expected, given) ? null : "signature does not match";
  }

  private Mac newMac() {
    try {
      Mac mac = Mac.getInstance(ALGORITHM);
      mac.init(key);
      return mac;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 unavailable", e);
    }
  }

  private byte[] mac(String method, String path, long timestampMs, byte[] body) {
    // One Mac per thread, keyed once: a provider lookup and key setup per request cost more than
    // the HMAC of a small body. reset() drops whatever an earlier, interrupted use left in it.
    Mac mac = macs.get();
    mac.reset();
    mac.update((method + "\n" + path + "\n" + timestampMs + "\n").getBytes(StandardCharsets.UTF_8));
    if (body != null) mac.update(body);
    return mac.doFinal();
  }
}

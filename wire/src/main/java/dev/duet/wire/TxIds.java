package dev.duet.wire;

import java.security.SecureRandom;
import java.util.regex.Pattern;

/**
 * Transaction ids: 26 characters of Crockford base32, a 48-bit millisecond timestamp followed by 80
 * random bits (the ULID layout). Unique across coordinator restarts without any persisted counter
 * (PROTOCOL-TRAPS 3), sortable by creation time, safe in URLs, and short enough for an XA global
 * transaction id (64 bytes).
 */
public final class TxIds {
  private TxIds() {}

  private static final char[] ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ".toCharArray();
  private static final Pattern FORMAT = Pattern.compile("[0-9A-HJKMNP-TV-Z]{26}");
  private static final SecureRandom RANDOM = new SecureRandom();

  public static final int LENGTH = 26;

  /** A new id for a transaction begun at {@code nowMs}. */
  public static String next(long nowMs) {
    byte[] random = new byte[10];
    RANDOM.nextBytes(random);
    return format(nowMs, random);
  }

  static String format(long timeMs, byte[] random) {
    Check.that(random.length == 10, "80 random bits");
    Check.that(timeMs >= 0 && timeMs < (1L << 48), "time fits 48 bits");
    char[] out = new char[LENGTH];
    // 10 chars of time (50 bits, top 2 zero), then 16 chars of randomness (80 bits).
    long t = timeMs;
    for (int i = 9; i >= 0; i--) {
      out[i] = ALPHABET[(int) (t & 31)];
      t >>>= 5;
    }
    long hi = 0; // first 40 bits
    long lo = 0; // last 40 bits
    for (int i = 0; i < 5; i++) hi = (hi << 8) | (random[i] & 0xff);
    for (int i = 5; i < 10; i++) lo = (lo << 8) | (random[i] & 0xff);
    for (int i = 17; i >= 10; i--) {
      out[i] = ALPHABET[(int) (hi & 31)];
      hi >>>= 5;
    }
    for (int i = 25; i >= 18; i--) {
      out[i] = ALPHABET[(int) (lo & 31)];
      lo >>>= 5;
    }
    return new String(out);
  }

  /** True if {@code id} has the shape of an id this coordinator could have issued. */
  public static boolean isValid(String id) {
    return id != null && FORMAT.matcher(id).matches();
  }

  /** The creation time encoded in a valid id. */
  public static long timeMs(String id) {
    Check.that(isValid(id), "valid id");
    long t = 0;
    for (int i = 0; i < 10; i++) {
      t = (t << 5) | new String(ALPHABET).indexOf(id.charAt(i));
    }
    return t;
  }
}

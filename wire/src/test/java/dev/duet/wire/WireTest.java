package dev.duet.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.duet.wire.Messages.BeginRequest;
import dev.duet.wire.Messages.EnlistRequest;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class WireTest {

  @Test
  void idsAreUniqueValidAndCarryTheirTime() {
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < 10_000; i++) {
      String id = TxIds.next(1_700_000_000_000L);
      assertThat(TxIds.isValid(id)).isTrue();
      assertThat(seen.add(id)).isTrue();
    }
    String id = TxIds.next(1_700_000_123_456L);
    assertThat(TxIds.timeMs(id)).isEqualTo(1_700_000_123_456L);
    assertThat(id.getBytes(StandardCharsets.UTF_8)).hasSizeLessThanOrEqualTo(64);
    assertThat(TxIds.isValid("../etc/passwd")).isFalse();
    assertThat(TxIds.isValid(id.toLowerCase())).isFalse();
    assertThat(TxIds.isValid(null)).isFalse();
  }

  /**
   * PROTOCOL-TRAPS 3: ids must not repeat across restarts, so their tail is random, not a counter.
   * A counter (even one behind a time prefix) restarts at the same values in a new process; random
   * tails drawn in one millisecond spread over every position and every letter of the alphabet.
   */
  @Test
  void idTailsAreRandomNotACounter() {
    java.util.Set<String> tails = new java.util.HashSet<>();
    java.util.Set<Character> firstTailChars = new java.util.HashSet<>();
    for (int i = 0; i < 2_000; i++) {
      String tail = TxIds.next(1_700_000_000_000L).substring(10);
      tails.add(tail);
      firstTailChars.add(tail.charAt(0));
    }
    assertThat(tails).as("2000 ids in one millisecond").hasSize(2_000);
    assertThat(firstTailChars).as("the tail's first letter varies: it is not a small counter").hasSize(32);
  }

  @Test
  void idsSortByTime() {
    assertThat(TxIds.next(1000).compareTo(TxIds.next(2000))).isNegative();
  }

  @Test
  void strictReadingRefusesUnknownFieldsWrongTypesAndGarbage() {
    assertThat(Json.readStrict("{\"timeoutMs\":5000}".getBytes(), BeginRequest.class).timeoutMs())
        .isEqualTo(5000L);
    assertThatThrownBy(() -> Json.readStrict("{\"timeoutMs\":\"5000\"}".getBytes(), BeginRequest.class))
        .isInstanceOf(Json.BadJson.class);
    assertThatThrownBy(() -> Json.readStrict("{\"name\":5,\"url\":\"http://x\"}".getBytes(), EnlistRequest.class))
        .isInstanceOf(Json.BadJson.class);
    assertThatThrownBy(() -> Json.readStrict("{\"name\":true,\"url\":\"http://x\"}".getBytes(), EnlistRequest.class))
        .isInstanceOf(Json.BadJson.class);
    assertThatThrownBy(() -> Json.readStrict("{\"bogus\":1}".getBytes(), BeginRequest.class))
        .isInstanceOf(Json.BadJson.class);
    assertThatThrownBy(() -> Json.readStrict("{\"name\":\"a\"} x".getBytes(), EnlistRequest.class))
        .isInstanceOf(Json.BadJson.class);
    assertThatThrownBy(() -> Json.readStrict("{".getBytes(), EnlistRequest.class))
        .isInstanceOf(Json.BadJson.class);
    assertThatThrownBy(() -> Json.readStrict(new byte[0], EnlistRequest.class))
        .isInstanceOf(Json.BadJson.class);
    assertThatThrownBy(() -> Json.readStrict("null".getBytes(), EnlistRequest.class))
        .isInstanceOf(Json.BadJson.class);
  }

  @Test
  void signaturesVerifyAndForgeriesDoNot() {
    RequestSigner signer = new RequestSigner("0123456789abcdef-secret");
    byte[] body = "{\"txId\":\"X\",\"participant\":\"bank-a\"}".getBytes();
    long now = 1_700_000_000_000L;
    String sig = signer.sign("POST", "/tx/prepare", now, body);
    assertThat(signer.verify("POST", "/tx/prepare", Long.toString(now), sig, body, now + 10)).isNull();
    // Changed body, path, method or key: refused.
    byte[] other = "{\"txId\":\"Y\",\"participant\":\"bank-a\"}".getBytes();
    assertThat(signer.verify("POST", "/tx/prepare", Long.toString(now), sig, other, now)).isNotNull();
    assertThat(signer.verify("POST", "/tx/commit", Long.toString(now), sig, body, now)).isNotNull();
    assertThat(signer.verify("PUT", "/tx/prepare", Long.toString(now), sig, body, now)).isNotNull();
    RequestSigner otherKey = new RequestSigner("another-secret-0123456789");
    assertThat(otherKey.verify("POST", "/tx/prepare", Long.toString(now), sig, body, now)).isNotNull();
    // Stale or missing.
    assertThat(signer.verify("POST", "/tx/prepare", Long.toString(now), sig, body, now + 3_600_000))
        .contains("window");
    assertThat(signer.verify("POST", "/tx/prepare", null, sig, body, now)).contains("missing");
    assertThat(signer.verify("POST", "/tx/prepare", "abc", sig, body, now)).isNotNull();
    assertThat(signer.verify("POST", "/tx/prepare", Long.toString(now), "v1=zz", body, now)).isNotNull();
  }
}

package dev.duet.participant.contract;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.duet.wire.Headers;
import dev.duet.wire.Json;
import dev.duet.wire.Limits;
import dev.duet.wire.RequestSigner;
import dev.duet.wire.TxIds;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Checks a participant against the wire protocol over real HTTP: idempotency, unknown branches,
 * vote semantics, signature rejection and bad input (each a 4xx with a JSON error body that changes
 * nothing). Extend it in a test and say where the participant is, how to create work in a branch,
 * and the signing secret:
 *
 * <pre>{@code
 * class MyParticipantContractTest extends ParticipantContractTest {
 *   protected String participantUrl() { return "http://127.0.0.1:" + port + "/duet"; }
 *   protected String participantName() { return "bank-a"; }
 *   protected String signingSecret() { return SECRET; }        // null if the participant is unsigned
 *   protected void createWork(String txId) throws Exception { ... }  // work that prepares PREPARED
 * }
 * }</pre>
 */
public abstract class ParticipantContractTest {

  private static final Duration TIMEOUT = Duration.ofSeconds(10);
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(TIMEOUT).build();

  /** The participant URL the coordinator would call, e.g. {@code http://127.0.0.1:8081/duet}. */
  protected abstract String participantUrl();

  /** The participant's name (the {@code participant} field of requests). */
  protected abstract String participantName();

  /** The shared signing secret, or null if the participant accepts unsigned requests. */
  protected abstract String signingSecret();

  /** Does work in the branch of {@code txId} so that a prepare of it votes PREPARED. */
  protected abstract void createWork(String txId) throws Exception;

  // ---------------------------------------------------------------- idempotency and votes

  @Test
  void prepareThenCommitIsIdempotent() throws Exception {
    String tx = newTx();
    createWork(tx);
    assertVote(post("prepare", tx), "PREPARED");
    assertVote(post("prepare", tx), "PREPARED");
    assertTrue(inDoubt().contains(tx), "a prepared branch is listed in doubt");
    assertAck(post("commit", tx), "COMMITTED");
    assertAck(post("commit", tx), "COMMITTED");
    assertFalse(inDoubt().contains(tx), "a committed branch is no longer in doubt");
  }

  @Test
  void rollbackOfACommittedBranchIsReportedNotRefused() throws Exception {
    // The work cannot be undone: HEURISTIC_COMMIT tells the coordinator so (it records a heuristic
    // outcome and stops); an error would be retried for ever, ROLLED_BACK would be a lie.
    String tx = newTx();
    createWork(tx);
    assertVote(post("prepare", tx), "PREPARED");
    assertAck(post("commit", tx), "COMMITTED");
    assertAck(post("rollback", tx), "HEURISTIC_COMMIT");
    assertAck(post("commit", tx), "COMMITTED");
  }

  @Test
  void prepareThenRollbackIsIdempotent() throws Exception {
    String tx = newTx();
    createWork(tx);
    assertVote(post("prepare", tx), "PREPARED");
    assertAck(post("rollback", tx), "ROLLED_BACK");
    assertAck(post("rollback", tx), "ROLLED_BACK");
    assertFalse(inDoubt().contains(tx));
    assertVote(post("prepare", tx), "ABORT");
  }

  @Test
  void rollbackBeforePrepareMakesLaterPrepareVoteAbort() throws Exception {
    String tx = newTx();
    createWork(tx);
    assertAck(post("rollback", tx), "ROLLED_BACK");
    assertVote(post("prepare", tx), "ABORT");
    assertAck(post("rollback", tx), "ROLLED_BACK");
  }

  @Test
  void unknownBranchesCommitAndRollBackButVoteAbort() throws Exception {
    assertAck(post("commit", newTx()), "COMMITTED");
    assertAck(post("rollback", newTx()), "ROLLED_BACK");
    assertVote(post("prepare", newTx()), "ABORT");
  }

  @Test
  void onePhaseCommitCommits() throws Exception {
    String tx = newTx();
    createWork(tx);
    assertAck(send("POST", "commit", body(tx, participantName(), true), true), "COMMITTED");
    assertFalse(inDoubt().contains(tx));
  }

  // ---------------------------------------------------------------- signatures

  @Test
  void badSignaturesAreRejectedAndChangeNothing() throws Exception {
    Assumptions.assumeTrue(signingSecret() != null, "the participant is unsigned");
    String tx = newTx();
    createWork(tx);
    assertVote(post("prepare", tx), "PREPARED");
    byte[] rollback = body(tx, participantName(), false);
    String path = URI.create(participantUrl() + "/rollback").getRawPath();
    long now = System.currentTimeMillis();
    RequestSigner forger = new RequestSigner("not-the-secret-at-all-0123456789");
    RequestSigner signer = new RequestSigner(signingSecret());

    assertError(raw("rollback", rollback, null, null), 401, "BAD_SIGNATURE");
    assertError(raw("rollback", rollback, now, forger.sign("POST", path, now, rollback)), 401, "BAD_SIGNATURE");
    long stale = now - Limits.SIGNATURE_WINDOW_MS - 60_000;
    assertError(raw("rollback", rollback, stale, signer.sign("POST", path, stale, rollback)), 401, "BAD_SIGNATURE");
    byte[] other = body(newTx(), participantName(), false);
    assertError(raw("rollback", rollback, now, signer.sign("POST", path, now, other)), 401, "BAD_SIGNATURE");
    String commitPath = URI.create(participantUrl() + "/commit").getRawPath();
    assertError(raw("rollback", rollback, now, signer.sign("POST", commitPath, now, rollback)), 401, "BAD_SIGNATURE");
    assertError(raw("rollback", rollback, now, "v1=zz"), 401, "BAD_SIGNATURE");

    assertTrue(inDoubt().contains(tx), "rejected requests changed nothing: the branch is still prepared");
    assertAck(post("rollback", tx), "ROLLED_BACK");
  }

  // ---------------------------------------------------------------- bad input

  @Test
  void badInputGetsAJsonErrorAndChangesNothing() throws Exception {
    String tx = newTx();
    createWork(tx);
    String name = Json.writeString(participantName());
    List<String> bodies = new ArrayList<>(List.of(
        "",
        "not json",
        "null",
        "[]",
        "{}",
        "{\"txId\": \"" + tx + "\"}",
        "{\"txId\": \"" + tx + "\", \"participant\": " + name + ", \"extra\": 1}",
        "{\"txId\": 5, \"participant\": " + name + "}",
        "{\"txId\": \"not-a-tx-id\", \"participant\": " + name + "}",
        "{\"txId\": \"" + tx + "\", \"participant\": \"someone-else\"}",
        "{\"txId\": \"" + tx + "\", \"participant\": " + name + "} trailing",
        "{\"txId\": \"" + tx + "\", \"participant\": " + name + ", \"onePhase\": \"yes\"}"));
    for (String verb : List.of("prepare", "commit", "rollback")) {
      for (String b : bodies) {
        Reply r = send("POST", verb, b.getBytes(StandardCharsets.UTF_8), true);
        assertEquals(400, r.status, verb + " with body '" + b + "' → 400; got " + r.text);
        assertErrorBody(r);
      }
    }
    Reply onePhasePrepare = send("POST", "prepare", body(tx, participantName(), true), true);
    assertEquals(400, onePhasePrepare.status, "onePhase on prepare → 400; got " + onePhasePrepare.text);
    assertErrorBody(onePhasePrepare);

    Reply wrongMethod = send("GET", "prepare", null, false);
    assertEquals(405, wrongMethod.status, "GET /prepare → 405; got " + wrongMethod.text);
    assertErrorBody(wrongMethod);
    Reply unknownPath = send("POST", "no-such-endpoint", body(tx, participantName(), false), true);
    assertEquals(404, unknownPath.status, "unknown path → 404; got " + unknownPath.text);
    assertErrorBody(unknownPath);
    byte[] huge = new byte[Limits.BODY_BYTES_MAX + 1024];
    java.util.Arrays.fill(huge, (byte) ' ');
    Reply tooLarge = send("POST", "prepare", huge, true);
    assertEquals(413, tooLarge.status, "oversized body → 413; got " + tooLarge.text);
    assertErrorBody(tooLarge);

    // Nothing changed: the branch is still active and prepares normally.
    assertFalse(inDoubt().contains(tx));
    assertVote(post("prepare", tx), "PREPARED");
    assertAck(post("rollback", tx), "ROLLED_BACK");
  }

  // ---------------------------------------------------------------- helpers

  protected static String newTx() {
    return TxIds.next(System.currentTimeMillis());
  }

  /** A parsed reply: status, raw text and JSON (null if the body is not JSON). */
  protected record Reply(int status, String text, JsonNode json) {}

  protected Reply post(String verb, String txId) throws Exception {
    return send("POST", verb, body(txId, participantName(), false), true);
  }

  protected List<String> inDoubt() throws Exception {
    Reply r = send("GET", "in-doubt", null, false);
    assertEquals(200, r.status, "GET in-doubt → 200; got " + r.text);
    List<String> out = new ArrayList<>();
    JsonNode ids = r.json.get("inDoubt");
    assertNotNull(ids, "in-doubt reply lists inDoubt");
    ids.forEach(n -> out.add(n.asText()));
    return out;
  }

  protected static byte[] body(String txId, String participant, boolean onePhase) {
    return ("{\"txId\":" + Json.writeString(txId) + ",\"participant\":" + Json.writeString(participant)
        + (onePhase ? ",\"onePhase\":true" : "") + "}").getBytes(StandardCharsets.UTF_8);
  }

  /** Sends a request, signed with the secret when {@code sign} and a secret is configured. */
  protected Reply send(String method, String verb, byte[] body, boolean sign) throws Exception {
    String url = participantUrl() + "/" + verb;
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(TIMEOUT);
    byte[] bytes = body == null ? new byte[0] : body;
    if (sign && signingSecret() != null) {
      long now = System.currentTimeMillis();
      b.header(Headers.TIMESTAMP, Long.toString(now));
      b.header(Headers.SIGNATURE, new RequestSigner(signingSecret()).sign(method, URI.create(url).getRawPath(), now, bytes));
    }
    if (method.equals("GET")) b.GET();
    else b.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofByteArray(bytes));
    return reply(http.send(b.build(), HttpResponse.BodyHandlers.ofString()));
  }

  private Reply raw(String verb, byte[] body, Long timestamp, String signature) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(participantUrl() + "/" + verb)).timeout(TIMEOUT)
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofByteArray(body));
    if (timestamp != null) b.header(Headers.TIMESTAMP, Long.toString(timestamp));
    if (signature != null) b.header(Headers.SIGNATURE, signature);
    return reply(http.send(b.build(), HttpResponse.BodyHandlers.ofString()));
  }

  private static Reply reply(HttpResponse<String> resp) {
    JsonNode json = null;
    try {
      json = Json.LENIENT.readTree(resp.body());
    } catch (Exception notJson) {
      // Left null; the assertions say so.
    }
    return new Reply(resp.statusCode(), resp.body(), json);
  }

  protected static void assertVote(Reply r, String vote) {
    assertEquals(200, r.status, "prepare → 200; got " + r.text);
    assertEquals(vote, r.json.path("vote").asText(), "vote; reply " + r.text);
  }

  protected static void assertAck(Reply r, String status) {
    assertEquals(200, r.status, "commit/rollback → 200; got " + r.text);
    assertEquals(status, r.json.path("status").asText(), "status; reply " + r.text);
  }

  protected static void assertError(Reply r, int status, String code) {
    assertEquals(status, r.status, "expected " + status + " " + code + "; got " + r.text);
    assertErrorBody(r);
    assertEquals(code, r.json.path("error").asText(), "error code; reply " + r.text);
  }

  protected static void assertErrorBody(Reply r) {
    assertNotNull(r.json, "error body is JSON: " + r.text);
    assertTrue(r.json.path("error").isTextual() && !r.json.path("error").asText().isEmpty(), "error field: " + r.text);
    assertTrue(r.json.path("message").isTextual(), "message field: " + r.text);
    assertFalse(r.text.contains("\tat "), "no stack trace in " + r.text);
  }
}

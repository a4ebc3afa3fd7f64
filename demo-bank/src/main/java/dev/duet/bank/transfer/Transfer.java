package dev.duet.bank.transfer;

import com.fasterxml.jackson.databind.JsonNode;
import dev.duet.bank.web.DemoErrors;
import dev.duet.bank.web.Money;
import dev.duet.bank.web.Replies;
import dev.duet.wire.ErrorCodes;
import dev.duet.wire.Json;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;

/** A transfer request, {@code {"from": {"bank", "account"}, "to": {...}, "amount"}}, validated. */
public record Transfer(Side from, Side to, long amount) {

  public record Side(String bank, long account) {}

  /** Why a body is not a transfer: 400 for the wrong shape, 422 for values that cannot be. */
  public record Rejection(int status, String code, String message) {}

  /** Either a transfer or why not. */
  public record Parsed(Transfer transfer, Rejection rejection) {}

  /** A canonical digest of what the transfer does: an idempotency key may only be retried with it. */
  public String hash() {
    String canonical = from.bank() + "\n" + from.account() + "\n" + to.bank() + "\n" + to.account() + "\n" + amount;
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(canonical.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  public Map<String, Object> sideJson(Side s) {
    return Map.of("bank", s.bank(), "account", s.account());
  }

  public static Parsed parse(byte[] body, Set<String> banks) {
    JsonNode root;
    try {
      if (body == null || body.length == 0) return reject(400, ErrorCodes.BAD_JSON, "request body is empty; expected a JSON object");
      root = Json.STRICT.readTree(body);
    } catch (Exception e) {
      return reject(400, ErrorCodes.BAD_JSON, "malformed JSON: " + Replies.abbreviate(e.getMessage()));
    }
    if (root == null || !root.isObject()) {
      return reject(400, ErrorCodes.BAD_REQUEST, "the body must be a JSON object {\"from\": {\"bank\", \"account\"}, \"to\": {...}, \"amount\"}");
    }
    String unknown = unknownField(root, Set.of("from", "to", "amount"));
    if (unknown != null) return reject(400, ErrorCodes.BAD_REQUEST, "unknown field '" + unknown + "'");
    Object from = side(root.get("from"), "from", banks);
    if (from instanceof Rejection r) return new Parsed(null, r);
    Object to = side(root.get("to"), "to", banks);
    if (to instanceof Rejection r) return new Parsed(null, r);
    Money.Invalid bad = Money.checkAmount(root.get("amount"));
    if (bad != null) return reject(bad.status(), bad.semantic() ? DemoErrors.INVALID_AMOUNT : ErrorCodes.BAD_REQUEST, bad.message());
    Side f = (Side) from;
    Side t = (Side) to;
    if (f.equals(t)) return reject(422, DemoErrors.SAME_ACCOUNT, "from and to are the same account");
    return new Parsed(new Transfer(f, t, root.get("amount").longValue()), null);
  }

  private static Object side(JsonNode node, String where, Set<String> banks) {
    if (node == null || node.isNull()) return new Rejection(400, ErrorCodes.BAD_REQUEST, where + " is required: {\"bank\": \"bank-a\", \"account\": 1}");
    if (!node.isObject()) return new Rejection(400, ErrorCodes.BAD_REQUEST, where + " must be an object {\"bank\", \"account\"}");
    String unknown = unknownField(node, Set.of("bank", "account"));
    if (unknown != null) return new Rejection(400, ErrorCodes.BAD_REQUEST, "unknown field '" + where + "." + unknown + "'");
    JsonNode bank = node.get("bank");
    if (bank == null || !bank.isTextual()) return new Rejection(400, ErrorCodes.BAD_REQUEST, where + ".bank must be a string");
    if (!banks.contains(bank.textValue())) {
      return new Rejection(422, DemoErrors.UNKNOWN_BANK, where + ".bank '" + Replies.abbreviate(bank.textValue())
          + "' is not one of " + new java.util.TreeSet<>(banks));
    }
    Money.Invalid bad = Money.checkAccount(node.get("account"), where);
    if (bad != null) return new Rejection(bad.status(), bad.semantic() ? DemoErrors.INVALID_ACCOUNT : ErrorCodes.BAD_REQUEST, bad.message());
    return new Side(bank.textValue(), node.get("account").longValue());
  }

  private static String unknownField(JsonNode node, Set<String> allowed) {
    for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!allowed.contains(f)) return Replies.abbreviate(f);
    }
    return null;
  }

  private static Parsed reject(int status, String code, String message) {
    return new Parsed(null, new Rejection(status, code, message));
  }
}

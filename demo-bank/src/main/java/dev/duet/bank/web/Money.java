package dev.duet.bank.web;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Amounts are integers of minor units (cents), never floating point. One bound for all services, far
 * below {@code Long.MAX_VALUE} so that no sum of balances a bank holds can overflow.
 */
public final class Money {
  private Money() {}

  /** Largest amount one debit, credit or transfer may move: 10^12 minor units. */
  public static final long AMOUNT_MAX = 1_000_000_000_000L;

  /** Why {@code node} is not an amount, as {@code CODE: message}; null if it is one. */
  public static Invalid checkAmount(JsonNode node) {
    if (node == null || node.isNull()) return new Invalid(false, "amount is required (integer minor units, e.g. 2500 for 25.00)");
    if (!node.isNumber()) return new Invalid(false, "amount must be a number, not " + node.getNodeType().toString().toLowerCase());
    if (!node.isIntegralNumber()) return new Invalid(false, "amount must be an integer number of minor units (cents), not " + node.asText());
    if (!node.canConvertToLong() || node.longValue() > AMOUNT_MAX) return new Invalid(true, "amount must be at most " + AMOUNT_MAX);
    if (node.longValue() <= 0) return new Invalid(true, "amount must be positive");
    return null;
  }

  /** Why {@code node} is not an account id; null if it is one. */
  public static Invalid checkAccount(JsonNode node, String where) {
    if (node == null || node.isNull()) return new Invalid(false, where + ".account is required");
    if (!node.isIntegralNumber()) return new Invalid(false, where + ".account must be an integer");
    if (!node.canConvertToLong() || node.longValue() <= 0) return new Invalid(true, where + ".account must be a positive 64-bit integer");
    return null;
  }

  /**
   * A rejected value: {@code semantic} ones are well-formed but not acceptable (422), the others
   * are the wrong shape (400).
   */
  public record Invalid(boolean semantic, String message) {
    public int status() {
      return semantic ? 422 : 400;
    }
  }
}

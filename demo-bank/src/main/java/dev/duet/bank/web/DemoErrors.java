package dev.duet.bank.web;

/** Error codes of the demo services, on top of {@link dev.duet.wire.ErrorCodes}. */
public final class DemoErrors {
  private DemoErrors() {}

  /** Debit and credit only happen inside a transaction (the {@code Duet-Transaction} header). */
  public static final String TRANSACTION_REQUIRED = "TRANSACTION_REQUIRED";
  public static final String ACCOUNT_UNKNOWN = "ACCOUNT_UNKNOWN";
  public static final String INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS";
  /** A lock on the account could not be had in time (e.g. two transfers crossing each other). */
  public static final String ACCOUNT_BUSY = "ACCOUNT_BUSY";
  public static final String INVALID_AMOUNT = "INVALID_AMOUNT";
  public static final String INVALID_ACCOUNT = "INVALID_ACCOUNT";
  public static final String UNKNOWN_BANK = "UNKNOWN_BANK";
  public static final String SAME_ACCOUNT = "SAME_ACCOUNT";
  public static final String BANK_UNAVAILABLE = "BANK_UNAVAILABLE";
  public static final String COORDINATOR_UNAVAILABLE = "COORDINATOR_UNAVAILABLE";
  public static final String IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED";
  public static final String TRANSFER_IN_PROGRESS = "TRANSFER_IN_PROGRESS";
  public static final String TRANSFER_UNKNOWN = "TRANSFER_UNKNOWN";
  public static final String ABORTED = "ABORTED";
}

package dev.duet.wire;

/** HTTP header names of the protocol. */
public final class Headers {
  private Headers() {}

  /**
   * Transaction context propagation: the transaction's URL at the coordinator, e.g.
   * {@code http://127.0.0.1:7070/v1/transactions/01JD3...}. A service receiving it joins the
   * transaction.
   */
  public static final String TRANSACTION = "Duet-Transaction";

  /** Milliseconds since the epoch at which a coordinator → participant request was signed. */
  public static final String TIMESTAMP = "Duet-Timestamp";

  /** {@code v1=<hex HMAC-SHA256>}; see {@link RequestSigner}. */
  public static final String SIGNATURE = "Duet-Signature";

  /** Client retries of {@code POST /transfers} and similar carry the same key. */
  public static final String IDEMPOTENCY_KEY = "Idempotency-Key";
}

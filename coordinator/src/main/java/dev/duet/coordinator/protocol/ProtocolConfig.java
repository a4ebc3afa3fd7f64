package dev.duet.coordinator.protocol;

import dev.duet.wire.Check;
import dev.duet.wire.Limits;

/**
 * The protocol's timeouts and bounds. Every queue, retry and table has a stated limit here.
 *
 * @param prepareTimeoutMs how long phase 1 may take before the transaction aborts
 * @param retryBackoffMsMin first phase-2 retry delay
 * @param retryBackoffMsMax cap of the exponential phase-2 retry delay (retries never stop)
 * @param retryAlertAttempts attempts after which a participant counts as stuck (metric, log)
 * @param liveTransactionsMax transactions not yet ended that one core holds; begin is refused past it
 * @param finishedRetainedMax ended transactions kept for status queries (oldest forgotten first)
 * @param finishedRetainMs how long an ended transaction stays queryable
 * @param waitersPerTxMax concurrent commit/rollback requests parked on one transaction
 */
public record ProtocolConfig(
    long prepareTimeoutMs,
    long retryBackoffMsMin,
    long retryBackoffMsMax,
    int retryAlertAttempts,
    int liveTransactionsMax,
    int finishedRetainedMax,
    long finishedRetainMs,
    int waitersPerTxMax) {

  public ProtocolConfig {
    Check.that(prepareTimeoutMs > 0, "prepareTimeoutMs > 0");
    Check.that(retryBackoffMsMin > 0 && retryBackoffMsMin <= retryBackoffMsMax, "0 < backoff min <= max");
    Check.that(retryAlertAttempts > 0, "retryAlertAttempts > 0");
    Check.that(liveTransactionsMax > 0, "liveTransactionsMax > 0");
    Check.that(finishedRetainedMax >= 0 && finishedRetainMs >= 0, "finished retention >= 0");
    Check.that(waitersPerTxMax > 0, "waitersPerTxMax > 0");
  }

  public static ProtocolConfig defaults() {
    return new ProtocolConfig(10_000, 50, 30_000, 10, 200_000, 100_000, 10 * 60_000, 64);
  }

  public ProtocolConfig withPrepareTimeoutMs(long v) {
    return new ProtocolConfig(v, retryBackoffMsMin, retryBackoffMsMax, retryAlertAttempts,
        liveTransactionsMax, finishedRetainedMax, finishedRetainMs, waitersPerTxMax);
  }

  public ProtocolConfig withRetryBackoffMs(long min, long max) {
    return new ProtocolConfig(prepareTimeoutMs, min, max, retryAlertAttempts,
        liveTransactionsMax, finishedRetainedMax, finishedRetainMs, waitersPerTxMax);
  }

  public ProtocolConfig withLiveTransactionsMax(int v) {
    return new ProtocolConfig(prepareTimeoutMs, retryBackoffMsMin, retryBackoffMsMax,
        retryAlertAttempts, v, finishedRetainedMax, finishedRetainMs, waitersPerTxMax);
  }

  public ProtocolConfig withFinishedRetained(int max, long retainMs) {
    return new ProtocolConfig(prepareTimeoutMs, retryBackoffMsMin, retryBackoffMsMax,
        retryAlertAttempts, liveTransactionsMax, max, retainMs, waitersPerTxMax);
  }

  /** Clamps a client's requested timeout into the allowed range; null means the default. */
  static long txTimeoutMs(Long requested) {
    return requested == null ? Limits.TX_TIMEOUT_MS_DEFAULT : requested;
  }
}

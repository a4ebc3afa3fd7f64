package dev.duet.participant.jdbc;

import dev.duet.wire.Check;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * Bounds and timers of an {@link XaParticipant}.
 *
 * @param branchesMax branches active or prepared at once; each holds a database connection. Past it,
 *     {@code inBranch} throws {@link BranchLimitException} at once (no waiting). With PostgreSQL keep
 *     it at most {@code max_prepared_transactions}
 * @param deadlineCheckMs how often active branches past their deadline are rolled back
 * @param meterRegistry where to publish gauges {@code duet.participant.branches.in_doubt} and
 *     {@code duet.participant.branches.active}; null for none
 */
public record XaOptions(int branchesMax, long deadlineCheckMs, MeterRegistry meterRegistry) {

  public static final int BRANCHES_MAX_DEFAULT = 256;
  public static final int BRANCHES_MAX_MAX = 100_000;
  public static final long DEADLINE_CHECK_MS_DEFAULT = 1_000;

  public XaOptions {
    Check.that(branchesMax >= 1 && branchesMax <= BRANCHES_MAX_MAX, "branchesMax in 1.." + BRANCHES_MAX_MAX);
    Check.that(deadlineCheckMs >= 10 && deadlineCheckMs <= 60_000, "deadlineCheckMs in 10..60000");
  }

  public XaOptions(int branchesMax, long deadlineCheckMs) {
    this(branchesMax, deadlineCheckMs, null);
  }

  public static XaOptions defaults() {
    return new XaOptions(BRANCHES_MAX_DEFAULT, DEADLINE_CHECK_MS_DEFAULT, null);
  }

  public XaOptions withBranchesMax(int n) {
    return new XaOptions(n, deadlineCheckMs, meterRegistry);
  }

  public XaOptions withDeadlineCheckMs(long ms) {
    return new XaOptions(branchesMax, ms, meterRegistry);
  }

  public XaOptions withMeterRegistry(MeterRegistry registry) {
    return new XaOptions(branchesMax, deadlineCheckMs, registry);
  }
}

package dev.duet.coordinator.metrics;

import dev.duet.coordinator.protocol.Action.Alert;
import dev.duet.coordinator.protocol.Action.Decided;
import dev.duet.coordinator.protocol.Coordinator.Stats;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/** The coordinator's own meters; the log registers its own (duet.log.*). */
public final class CoordinatorMetrics {

  private final Counter begun;
  private final Counter committed;
  private final Counter aborted;
  private final Counter unknown;
  private final Counter heuristic;
  private final Counter stuck;
  private final Timer prepare;
  private final Timer commitRequest;

  public CoordinatorMetrics(MeterRegistry registry, Supplier<Stats> stats) {
    begun = Counter.builder("duet.transactions.begun").register(registry);
    committed = Counter.builder("duet.transactions.committed").register(registry);
    aborted = Counter.builder("duet.transactions.aborted").register(registry);
    unknown = Counter.builder("duet.transactions.unknown")
        .description("one-phase commits whose single participant never answered").register(registry);
    heuristic = Counter.builder("duet.heuristic.outcomes")
        .description("participants that finished a branch against the decision").register(registry);
    stuck = Counter.builder("duet.phase2.stuck.alerts")
        .description("participants that failed retryAlertAttempts phase-2 calls in a row").register(registry);
    prepare = Timer.builder("duet.prepare.latency").description("phase 1: commit request to decision")
        .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1))
        .maximumExpectedValue(Duration.ofSeconds(30)).register(registry);
    commitRequest = Timer.builder("duet.commit.latency").description("client commit request to reply")
        .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1))
        .maximumExpectedValue(Duration.ofSeconds(30)).register(registry);
    Gauge.builder("duet.transactions.live", () -> stats.get().live()).register(registry);
    Gauge.builder("duet.transactions.committing", () -> stats.get().committing()).register(registry);
    Gauge.builder("duet.phase2.retries.inflight", () -> stats.get().retrying())
        .description("participants whose commit/rollback is being retried").register(registry);
    Gauge.builder("duet.phase2.stuck", () -> stats.get().stuck())
        .description("participants past retryAlertAttempts, still retried").register(registry);
  }

  public void begun() {
    begun.increment();
  }

  public void decided(Decided d) {
    switch (d.outcome()) {
      case COMMITTED -> committed.increment();
      case ABORTED -> aborted.increment();
      case UNKNOWN -> unknown.increment();
    }
    if (d.phase1Ms() >= 0) prepare.record(d.phase1Ms(), TimeUnit.MILLISECONDS);
  }

  public void alert(Alert a) {
    if (a.kind() == Alert.Kind.HEURISTIC) heuristic.increment();
    else stuck.increment();
  }

  public void commitRequest(long nanos) {
    commitRequest.record(nanos, TimeUnit.NANOSECONDS);
  }
}

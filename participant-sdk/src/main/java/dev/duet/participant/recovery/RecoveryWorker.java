package dev.duet.participant.recovery;

import dev.duet.participant.context.CoordinatorClient;
import dev.duet.participant.context.TxStatus;
import dev.duet.participant.jdbc.XaParticipant;
import dev.duet.wire.Check;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * <b>Where in-doubt branches are resolved.</b> At start-up and then every {@code periodMs}: lists the
 * participant's prepared branches ({@code XAResource.recover()} plus those it holds), asks the
 * coordinator for each transaction's outcome, commits on COMMITTED, rolls back on ABORTED (incl. 404
 * {@code TRANSACTION_UNKNOWN}: presumed abort), and leaves the branch prepared on UNDECIDED or
 * UNREACHABLE. It never guesses (PROTOCOL-TRAPS 13): a branch in doubt stays in doubt, visible in
 * {@link XaParticipant#inDoubtCount()}, the gauge and {@code GET .../in-doubt}, until the coordinator
 * answers.
 */
public final class RecoveryWorker implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(RecoveryWorker.class);

  public static final long PERIOD_MS_MIN = 100;

  private final Vertx vertx;
  private final XaParticipant participant;
  private final CoordinatorClient coordinator;
  private final long periodMs;
  private final AtomicBoolean running = new AtomicBoolean();
  private volatile long timerId = -1;
  private volatile RecoveryReport last;

  public RecoveryWorker(Vertx vertx, XaParticipant participant, CoordinatorClient coordinator, long periodMs) {
    Check.that(periodMs >= PERIOD_MS_MIN, "recovery period at least " + PERIOD_MS_MIN + " ms");
    this.vertx = Check.notNull(vertx, "vertx");
    this.participant = Check.notNull(participant, "participant");
    this.coordinator = Check.notNull(coordinator, "coordinator");
    this.periodMs = periodMs;
  }

  /** Runs a round now, then every {@code periodMs}. */
  public void start() {
    runOnce();
    timerId = vertx.setPeriodic(periodMs, periodMs, id -> runOnce());
  }

  /** The last round's report, or null before the first round ended. */
  public RecoveryReport lastReport() {
    return last;
  }

  /**
   * One round. Rounds do not overlap: if one is running, this returns a report of nothing done
   * (found = -1). Never fails; problems are counted in the report and logged.
   */
  public Future<RecoveryReport> runOnce() {
    if (!running.compareAndSet(false, true)) {
      return Future.succeededFuture(new RecoveryReport(-1, 0, 0, 0, 0, 0, List.of()));
    }
    Promise<RecoveryReport> done = Promise.promise();
    vertx.executeBlocking(participant::inDoubt, false).onComplete(ar -> {
      if (ar.failed()) {
        log.warn("recovery of {}: could not list in-doubt branches: {}", participant.name(), ar.cause().toString());
        finish(done, new RecoveryReport(0, 0, 0, 0, 0, 1, List.of()));
        return;
      }
      List<String> ids = ar.result();
      Counts counts = new Counts(ids.size());
      // One branch at a time: recovery is rare and must not flood a coordinator that just restarted.
      Future<Void> chain = Future.succeededFuture();
      for (String id : ids) chain = chain.compose(v -> resolve(id, counts));
      chain.onComplete(v -> {
        List<String> still = new ArrayList<>(counts.stillInDoubt);
        finish(done, new RecoveryReport(counts.found, counts.committed, counts.rolledBack, counts.undecided,
            counts.unreachable, counts.failed, still));
      });
    });
    return done.future();
  }

  private void finish(Promise<RecoveryReport> done, RecoveryReport report) {
    last = report;
    running.set(false);
    if (report.found() > 0) {
      log.info("recovery of {}: {}", participant.name(), report);
    }
    done.complete(report);
  }

  private Future<Void> resolve(String txId, Counts counts) {
    return coordinator.status(txId).compose(status -> {
      switch (status) {
        case COMMITTED, ABORTED -> {
          boolean commit = status == TxStatus.COMMITTED;
          return vertx.executeBlocking(() -> commit ? participant.commit(txId, false) : participant.rollback(txId), false)
              .map(ack -> {
                if (commit) counts.committed++;
                else counts.rolledBack++;
                if (ack.heuristic()) {
                  log.error("recovery of {}: branch {} finished with {} against the decision {}",
                      participant.name(), txId, ack, status);
                }
                return (Void) null;
              })
              .recover(e -> {
                log.warn("recovery of {}: could not {} branch {}: {}; retrying next round", participant.name(),
                    commit ? "commit" : "roll back", txId, e.toString());
                counts.failed++;
                counts.stillInDoubt.add(txId);
                return Future.succeededFuture();
              });
        }
        case UNDECIDED -> counts.undecided++;
        case UNREACHABLE -> counts.unreachable++;
      }
      counts.stillInDoubt.add(txId);
      return Future.<Void>succeededFuture();
    });
  }

  /** Mutated only by the round's sequential chain. */
  private static final class Counts {
    final int found;
    int committed;
    int rolledBack;
    int undecided;
    int unreachable;
    int failed;
    final List<String> stillInDoubt = new ArrayList<>();

    Counts(int found) {
      this.found = found;
    }
  }

  @Override
  public void close() {
    if (timerId >= 0) vertx.cancelTimer(timerId);
  }
}

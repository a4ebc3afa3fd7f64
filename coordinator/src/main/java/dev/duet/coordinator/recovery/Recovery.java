package dev.duet.coordinator.recovery;

import dev.duet.coordinator.log.DecisionLog;
import dev.duet.coordinator.log.LogRecord;
import dev.duet.coordinator.protocol.Action.Target;
import dev.duet.coordinator.shell.CoordinatorServer;
import dev.duet.failpoints.Failpoints;
import io.vertx.core.Future;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Coordinator recovery after a restart. The decision log's replay yields every COMMIT without an
 * END; each goes back to the shard that owns its id, which sends commit to its participants and
 * retries until all acknowledge. Everything else the previous process knew is aborted for good
 * (presumed abort): its in-flight handlers died with it, and ids are never reused, so no COMMIT can
 * appear for them later.
 */
public final class Recovery {
  private static final Logger log = LoggerFactory.getLogger(Recovery.class);

  private Recovery() {}

  /** Hands every unfinished COMMIT to its shard; completes with their number. */
  public static Future<Integer> run(DecisionLog decisionLog, CoordinatorServer server) {
    List<LogRecord.Commit> unfinished = decisionLog.unfinished();
    if (!unfinished.isEmpty()) {
      log.info("recovery: {} committed transactions to finish", unfinished.size());
    }
    List<Future<Void>> handed = new ArrayList<>(unfinished.size());
    for (LogRecord.Commit c : unfinished) {
      List<Target> targets = targets(c);
      handed.add(server.shardFor(c.txId()).query(core -> {
        Failpoints.hit(Failpoints.COORDINATOR_RECOVERY);
        core.recover(c.txId(), c.decidedAtMs(), targets, System.currentTimeMillis());
        return null;
      }));
    }
    // Ended commits are remembered too, so "was it committed?" stays exact across the restart.
    for (LogRecord.Commit c : decisionLog.endedRecently()) {
      List<Target> targets = targets(c);
      handed.add(server.shardFor(c.txId()).query(core -> {
        core.recoverEnded(c.txId(), c.decidedAtMs(), targets, System.currentTimeMillis());
        return null;
      }));
    }
    return Future.all(handed).map(v -> unfinished.size());
  }

  private static List<Target> targets(LogRecord.Commit c) {
    List<Target> targets = new ArrayList<>(c.participants().size());
    for (LogRecord.Participant p : c.participants()) targets.add(new Target(p.name(), p.url()));
    return targets;
  }
}

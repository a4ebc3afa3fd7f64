package dev.duet.coordinator.shell;

import dev.duet.coordinator.http.ParticipantClient;
import dev.duet.failpoints.Failpoints;
import dev.duet.coordinator.log.DecisionLog;
import dev.duet.coordinator.log.LogRefusedException;
import dev.duet.coordinator.log.LogRecord;
import dev.duet.coordinator.metrics.CoordinatorMetrics;
import dev.duet.coordinator.protocol.Action;
import dev.duet.coordinator.protocol.Action.Alert;
import dev.duet.coordinator.protocol.Action.AppendCommit;
import dev.duet.coordinator.protocol.Action.AppendEnd;
import dev.duet.coordinator.protocol.Action.Decided;
import dev.duet.coordinator.protocol.Action.Reply;
import dev.duet.coordinator.protocol.Action.Send;
import dev.duet.coordinator.protocol.Answer;
import dev.duet.coordinator.protocol.Coordinator;
import dev.duet.coordinator.protocol.ProtocolConfig;
import dev.duet.wire.AckStatus;
import dev.duet.wire.Check;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The thin shell around one protocol core: it owns one Vert.x event-loop context, feeds the core
 * events on that context only, and executes the actions the core returns — participant calls,
 * log appends, replies to parked client requests. It holds no protocol state of its own.
 */
public final class Shard {
  private static final Logger log = LoggerFactory.getLogger(Shard.class);

  /** The core's signature for one client request: (core, requestId, nowMs) → answer or null. */
  public interface Request {
    Answer apply(Coordinator core, long requestId, long nowMs);
  }

  private final int index;
  private final Vertx vertx;
  private final Context context;
  private final Coordinator core;
  private final DecisionLog decisionLog;
  private final ParticipantClient participants;
  private final CoordinatorMetrics metrics;
  private final int pendingRequestsMax;
  private final Map<Long, Promise<Answer>> pending = new HashMap<>();
  private long nextRequestId;
  private volatile Coordinator.Stats stats = new Coordinator.Stats(0, 0, 0, 0, 0, 0, 0);
  private long lastStatsMs;
  private long tickTimer = -1;
  /** Set by {@link #stop}: no more participant calls. What was decided is in the log; recovery finishes it. */
  private boolean stopped;

  Shard(int index, Vertx vertx, Context context, ProtocolConfig protocol, DecisionLog decisionLog,
      ParticipantClient participants, CoordinatorMetrics metrics, int pendingRequestsMax, long tickMs) {
    this.index = index;
    this.vertx = vertx;
    this.context = context;
    this.core = new Coordinator(protocol, new SplittableRandom());
    this.decisionLog = decisionLog;
    this.participants = participants;
    this.metrics = metrics;
    this.pendingRequestsMax = pendingRequestsMax;
    context.runOnContext(v -> tickTimer = vertx.setPeriodic(tickMs, id -> {
      long now = System.currentTimeMillis();
      core.tick(now);
      drain();
      if (now - lastStatsMs >= 1000) {
        lastStatsMs = now;
        stats = core.stats();
      }
    }));
  }

  /** Runs a client request on this shard's context; completes when the core answers. */
  public Future<Answer> submit(Request request) {
    Promise<Answer> promise = Promise.promise();
    onContext(() -> {
      if (pending.size() >= pendingRequestsMax) {
        promise.complete(Answer.overloaded(pending.size() + " requests already wait on this shard (pendingRequestsMax)"));
        return;
      }
      long id = ++nextRequestId;
      Answer answer = request.apply(core, id, System.currentTimeMillis());
      if (answer != null) {
        promise.complete(answer);
      } else {
        pending.put(id, promise);
      }
      drain();
    });
    return promise.future();
  }

  /** Runs {@code work} against the core on this shard's context (recovery, queries). */
  public <T> Future<T> query(java.util.function.Function<Coordinator, T> work) {
    Promise<T> promise = Promise.promise();
    onContext(() -> {
      promise.complete(work.apply(core));
      drain();
    });
    return promise.future();
  }

  /**
   * Stops the clock and the participant calls, before the server closes its HTTP clients: a tick
   * after that would call a closed client. Transactions in flight stay as the log has them.
   */
  public Future<Void> stop() {
    Promise<Void> promise = Promise.promise();
    onContext(() -> {
      stopped = true;
      if (tickTimer != -1) vertx.cancelTimer(tickTimer);
      promise.complete();
    });
    return promise.future();
  }

  public Coordinator.Stats stats() {
    return stats;
  }

  public int index() {
    return index;
  }

  private void onContext(Runnable r) {
    if (Vertx.currentContext() == context) r.run();
    else context.runOnContext(v -> r.run());
  }

  /** Executes every action the core produced, in order. Runs on this shard's context. */
  private void drain() {
    List<Action> actions = core.takeActions();
    String committingTx = null;
    for (int i = 0; i < actions.size(); i++) {
      Action a = actions.get(i);
      if (a instanceof Send s && s.kind() == Send.Kind.COMMIT && s.txId().equals(committingTx)
          && Failpoints.armed(Failpoints.COORDINATOR_MID_PHASE2)) {
        // Fault injection: let the first participant's commit leave the process, then fire with
        // this one unsent — one participant told, the other not.
        vertx.setTimer(100, t -> {
          Failpoints.hit(Failpoints.COORDINATOR_MID_PHASE2);
          send(s);
        });
      } else if (a instanceof Send s) {
        if (s.kind() == Send.Kind.COMMIT) committingTx = s.txId();
        send(s);
      }
      else if (a instanceof AppendCommit c) appendCommit(c);
      else if (a instanceof AppendEnd e) appendEnd(e);
      else if (a instanceof Reply r) reply(r);
      else if (a instanceof Decided d) metrics.decided(d);
      else if (a instanceof Alert al) alert(al);
      else throw new IllegalStateException("unknown action " + a);
    }
  }

  private void send(Send s) {
    if (stopped) return;
    switch (s.kind()) {
      case PREPARE -> participants.prepare(s.url(), s.txId(), s.participant()).onComplete(ar -> onContext(() -> {
        if (ar.succeeded()) {
          core.voteReceived(s.txId(), s.participant(), ar.result().vote(), ar.result().reason(), System.currentTimeMillis());
        } else {
          core.voteReceived(s.txId(), s.participant(), null, describe(ar.cause()), System.currentTimeMillis());
        }
        drain();
      }));
      case COMMIT, COMMIT_ONE_PHASE, ROLLBACK -> {
        Future<AckStatus> call = s.kind() == Send.Kind.ROLLBACK
            ? participants.rollback(s.url(), s.txId(), s.participant())
            : participants.commit(s.url(), s.txId(), s.participant(), s.kind() == Send.Kind.COMMIT_ONE_PHASE);
        call.onComplete(ar -> onContext(() -> {
          if (ar.failed() && s.attempt() > 1) {
            log.debug("tx {} {} to {} failed (attempt {}): {}", s.txId(), s.kind(), s.participant(), s.attempt(), describe(ar.cause()));
          }
          core.ackReceived(s.txId(), s.participant(), ar.succeeded() ? ar.result() : null,
              ar.succeeded() ? null : describe(ar.cause()), System.currentTimeMillis());
          drain();
        }));
      }
    }
  }

  private void appendCommit(AppendCommit c) {
    List<LogRecord.Participant> ps = new ArrayList<>(c.participants().size());
    for (Action.Target t : c.participants()) ps.add(new LogRecord.Participant(t.name(), t.url()));
    Failpoints.hit(Failpoints.COORDINATOR_BEFORE_DECISION);
    decisionLog.append(new LogRecord.Commit(c.txId(), c.decidedAtMs(), ps)).whenComplete((ok, err) -> onContext(() -> {
      long now = System.currentTimeMillis();
      if (err == null) {
        Failpoints.hit(Failpoints.COORDINATOR_AFTER_DECISION);
        core.commitDurable(c.txId(), now); // only now are participants and client told "commit"
      } else {
        Throwable cause = err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
        boolean neverWritten = cause instanceof LogRefusedException;
        if (!neverWritten) log.error("tx {}: COMMIT record could not be made durable; outcome settles at restart", c.txId(), cause);
        core.commitAppendFailed(c.txId(), neverWritten, describe(cause), now);
      }
      drain();
    }));
  }

  private void appendEnd(AppendEnd e) {
    // Not forced and not waited for: a lost END only means recovery re-sends commit, which
    // participants answer as already done.
    decisionLog.append(new LogRecord.End(e.txId())).whenComplete((ok, err) -> {
      if (err != null) log.warn("tx {}: END record not written: {}", e.txId(), err.toString());
    });
  }

  private void reply(Reply r) {
    Promise<Answer> p = pending.remove(r.requestId());
    Check.that(p != null, "a reply answers a parked request");
    p.complete(r.answer());
  }

  private void alert(Alert a) {
    metrics.alert(a);
    if (a.kind() == Alert.Kind.HEURISTIC) {
      log.error("HEURISTIC OUTCOME tx {} participant {}: {}", a.txId(), a.participant(), a.detail());
    } else {
      log.warn("STUCK tx {} participant {}: {}", a.txId(), a.participant(), a.detail());
    }
  }

  private static String describe(Throwable t) {
    String m = t.getMessage();
    return t.getClass().getSimpleName() + (m == null ? "" : ": " + m);
  }
}

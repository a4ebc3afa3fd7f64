package dev.duet.coordinator.protocol;

import dev.duet.wire.AckStatus;
import dev.duet.wire.Outcome;
import java.util.List;

/**
 * What the core asks its shell to do. The shell executes actions in the order given.
 *
 * <p>The ordering rule of the protocol is carried by the types: the core emits {@link
 * Send} with {@link Send.Kind#COMMIT} only after the shell has reported the transaction's {@link
 * AppendCommit} durable ({@link Coordinator#commitDurable}). Nobody, neither participant nor client,
 * hears "commit" before the decision is on disk.
 */
public sealed interface Action {

  /** Call a participant. Its answer comes back as a vote or an acknowledgement event. */
  record Send(String txId, String participant, String url, Kind kind, int attempt) implements Action {
    public enum Kind {
      PREPARE,
      COMMIT,
      ROLLBACK,
      /** Commit without prepare: the transaction's only participant (nothing is logged). */
      COMMIT_ONE_PHASE
    }
  }

  /** Force a COMMIT decision to the log; report back with commitDurable or commitAppendFailed. */
  record AppendCommit(String txId, long decidedAtMs, List<Target> participants) implements Action {
    public AppendCommit {
      participants = List.copyOf(participants);
    }
  }

  /** Every participant acknowledged the COMMIT: the log may forget it (not forced). */
  record AppendEnd(String txId) implements Action {}

  /** Answer a parked client request. */
  record Reply(long requestId, Answer answer) implements Action {}

  /** Something an operator must see: a heuristic outcome, a stuck participant. */
  record Alert(String txId, String participant, Kind kind, AckStatus status, String detail)
      implements Action {
    public enum Kind {
      HEURISTIC,
      STUCK
    }
  }

  /** A transaction reached its outcome (for metrics). {@code phase1Ms} is -1 without phase 1. */
  record Decided(String txId, Outcome outcome, boolean onePhase, long phase1Ms) implements Action {}

  /** A participant's name and the URL it enlisted with. */
  record Target(String name, String url) {}
}

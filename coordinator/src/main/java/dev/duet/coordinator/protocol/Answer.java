package dev.duet.coordinator.protocol;

import dev.duet.wire.ErrorCodes;
import dev.duet.wire.Messages.TxView;
import dev.duet.wire.Outcome;

/**
 * The core's answer to a client request, free of HTTP. The http package maps it to a status code:
 * an outcome of COMMITTED is 200, ABORTED 409, UNKNOWN 504; a rejection by its error code.
 */
public record Answer(String txId, Outcome outcome, String errorCode, String message, TxView view,
    boolean created) {

  static Answer outcome(String txId, Outcome outcome, String reason) {
    return new Answer(txId, outcome, null, reason, null, false);
  }

  static Answer rejected(String txId, String errorCode, String message) {
    return new Answer(txId, null, errorCode, message, null, false);
  }

  static Answer rejected(String txId, String errorCode, String message, Outcome outcome) {
    return new Answer(txId, outcome, errorCode, message, null, false);
  }

  static Answer view(TxView view, boolean created) {
    return new Answer(view.id(), null, null, null, view, created);
  }

  /**
   * The answer for an id the core holds no record of. It claims no outcome: the transaction either
   * never committed (presumed abort: a participant still prepared for it must roll back) or it
   * committed, every participant acknowledged, and it was forgotten after the retention window.
   * Only the participant can tell those apart, and it does not need to: a branch still prepared
   * cannot belong to a commit that every participant acknowledged.
   */
  static Answer unknown(String txId) {
    return new Answer(txId, null, ErrorCodes.TRANSACTION_UNKNOWN,
        "the coordinator holds no record of this transaction and no commit decision is pending for it: "
            + "a participant still prepared for it must roll back (presumed abort); a transaction that "
            + "committed and finished longer ago than the retention window is forgotten too, so this "
            + "answer does not tell a client that it aborted",
        null, false);
  }

  /** Back-pressure from the shell: the request was not handed to the core. */
  public static Answer overloaded(String message) {
    return rejected(null, ErrorCodes.OVERLOADED, message);
  }

  /** The shell cannot take commits (the decision log failed). */
  public static Answer unavailable(String message) {
    return rejected(null, ErrorCodes.UNAVAILABLE, message);
  }

  public boolean isRejection() {
    return errorCode != null;
  }
}

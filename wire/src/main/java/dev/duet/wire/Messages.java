package dev.duet.wire;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * Every JSON body of the protocol, as records. Field names here are the wire names.
 * Nulls are left out when written.
 */
public final class Messages {
  private Messages() {}

  // ---- client → coordinator ----

  /**
   * {@code POST /v1/transactions}. {@code participants}, if given, are enlisted in the same call, as
   * if each had enlisted itself: for an initiator that knows its participants, two round trips fewer.
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record BeginRequest(Long timeoutMs, List<EnlistRequest> participants) {
    public BeginRequest(Long timeoutMs) {
      this(timeoutMs, null);
    }
  }

  /** {@code POST /v1/transactions/{id}/participants}. */
  public record EnlistRequest(String name, String url) {}

  /** Reply to commit and rollback requests from clients. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record OutcomeReply(String id, Outcome outcome, String reason) {}

  // ---- coordinator → participant ----

  /**
   * Body of {@code POST {url}/prepare}, {@code /commit} and {@code /rollback}. {@code onePhase} is
   * true only on a commit sent to the single participant of a transaction without a prepare
   * (one-phase commit); it is left out otherwise.
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record ParticipantRequest(String txId, String participant, Boolean onePhase) {
    public ParticipantRequest(String txId, String participant) {
      this(txId, participant, null);
    }

    @JsonIgnore
    public boolean isOnePhase() {
      return Boolean.TRUE.equals(onePhase);
    }
  }

  /** Reply to prepare. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record PrepareReply(Vote vote, String reason) {}

  /** Reply to commit or rollback. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record AckReply(AckStatus status, String message) {}

  // ---- status, as GET /v1/transactions/{id} reports it ----

  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record TxView(
      String id,
      TxState state,
      Outcome outcome,
      String reason,
      long createdAt,
      long deadline,
      Long decidedAt,
      Long endedAt,
      boolean heuristic,
      boolean onePhase,
      List<ParticipantView> participants) {}

  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record ParticipantView(
      String name,
      String url,
      Vote vote,
      boolean acknowledged,
      AckStatus ack,
      int attempts,
      String lastError) {}

  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record TxList(List<TxView> transactions, String next) {}

  // ---- errors, from every endpoint on every side ----

  /** Every 4xx/5xx body: {@code {"error": CODE, "message": "..."}}. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record ErrorBody(String error, String message, Outcome outcome) {
    public ErrorBody(String error, String message) {
      this(error, message, null);
    }
  }
}

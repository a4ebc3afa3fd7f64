package dev.duet.participant.http;

import dev.duet.wire.Check;

/**
 * How the participant endpoints run.
 *
 * @param signingSecret the secret shared with the coordinator; null accepts unsigned requests. When
 *     set, a request with a missing, forged or stale signature gets 401 {@code BAD_SIGNATURE} and
 *     changes nothing
 * @param workerPoolSize threads that run the blocking {@code Participant} calls
 * @param pendingCallsMax calls queued or running at once; past it a call gets 503 {@code OVERLOADED}
 *     (the coordinator counts a failed prepare as ABORT and retries phase 2)
 */
public record ParticipantOptions(String signingSecret, int workerPoolSize, int pendingCallsMax) {

  public static final int WORKER_POOL_SIZE_DEFAULT = 16;
  public static final int WORKER_POOL_SIZE_MAX = 256;
  public static final int PENDING_CALLS_MAX_DEFAULT = 1024;
  public static final int PENDING_CALLS_MAX_MAX = 100_000;

  public ParticipantOptions {
    Check.that(workerPoolSize >= 1 && workerPoolSize <= WORKER_POOL_SIZE_MAX,
        "workerPoolSize in 1.." + WORKER_POOL_SIZE_MAX);
    Check.that(pendingCallsMax >= 1 && pendingCallsMax <= PENDING_CALLS_MAX_MAX,
        "pendingCallsMax in 1.." + PENDING_CALLS_MAX_MAX);
    Check.that(signingSecret == null || signingSecret.length() >= 16,
        "a signing secret has at least 16 characters");
  }

  /** Unsigned, {@value #WORKER_POOL_SIZE_DEFAULT} workers, {@value #PENDING_CALLS_MAX_DEFAULT} pending calls. */
  public static ParticipantOptions defaults() {
    return new ParticipantOptions(null, WORKER_POOL_SIZE_DEFAULT, PENDING_CALLS_MAX_DEFAULT);
  }

  public ParticipantOptions withSigningSecret(String secret) {
    return new ParticipantOptions(secret, workerPoolSize, pendingCallsMax);
  }

  public ParticipantOptions withWorkerPoolSize(int n) {
    return new ParticipantOptions(signingSecret, n, pendingCallsMax);
  }

  public ParticipantOptions withPendingCallsMax(int n) {
    return new ParticipantOptions(signingSecret, workerPoolSize, n);
  }
}

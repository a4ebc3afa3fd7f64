package dev.duet.participant.context;

import com.fasterxml.jackson.databind.JsonNode;
import dev.duet.wire.Check;
import dev.duet.wire.ErrorCodes;
import dev.duet.wire.Json;
import dev.duet.wire.Limits;
import dev.duet.wire.Messages.BeginRequest;
import dev.duet.wire.Messages.EnlistRequest;
import dev.duet.wire.Messages.TxView;
import dev.duet.wire.Outcome;
import dev.duet.wire.TxIds;
import dev.duet.wire.TxState;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An asynchronous client of the coordinator's HTTP API ({@code /v1/transactions}), for the service
 * that starts a transaction (begin, commit, rollback), for services that join one (enlist) and for
 * recovery (status). Every call has a timeout; nothing is retried here.
 */
public final class CoordinatorClient implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CoordinatorClient.class);


  /** How long one call to the coordinator may take. */
  public static final long CALL_TIMEOUT_MS = 10_000;
  /** Connections to the coordinator, and requests waiting for one. */
  public static final int CONNECTIONS_MAX = 32;
  public static final int WAITING_REQUESTS_MAX = 10_000;
  /** Characters of an error body quoted in exceptions. */
  private static final int QUOTE_CHARS_MAX = 200;

  private final HttpClient client;
  private final String coordinatorUrl;
  private final String authorization;

  /**
   * @param coordinatorUrl e.g. {@code http://127.0.0.1:7070}
   * @param bearerTokenOrNull the coordinator's client token, if it requires one
   */
  public CoordinatorClient(Vertx vertx, String coordinatorUrl, String bearerTokenOrNull) {
    Check.notNull(coordinatorUrl, "coordinatorUrl");
    String url = coordinatorUrl;
    while (url.endsWith("/")) url = url.substring(0, url.length() - 1);
    this.coordinatorUrl = url;
    this.authorization = bearerTokenOrNull == null ? null : "Bearer " + bearerTokenOrNull;
    this.client = vertx.httpClientBuilder()
        .with(new HttpClientOptions().setKeepAlive(true).setTcpNoDelay(true).setMaxRedirects(0))
        .with(new PoolOptions().setHttp1MaxSize(CONNECTIONS_MAX).setMaxWaitQueueSize(WAITING_REQUESTS_MAX))
        // A coordinator that restarts resets the pooled connections; the calls on them fail with
        // CoordinatorException. Without a handler Vert.x would also log each reset as an ERROR.
        .withConnectHandler(conn -> conn.exceptionHandler(e -> log.debug("connection to {} failed: {}", conn.remoteAddress(), e.toString())))
        .build();
  }

  /** The coordinator this client talks to, without a trailing slash. */
  public String coordinatorUrl() {
    return coordinatorUrl;
  }

  /** Adds the transaction header to an outgoing request, so the callee joins {@code tx}. */
  public static MultiMap propagate(MultiMap headers, TxContext tx) {
    return headers.set(TxContext.HEADER, tx.headerValue());
  }

  /** Begins a transaction that the coordinator aborts if not committed within {@code timeoutMs}. */
  public Future<TxContext> begin(long timeoutMs) {
    return begin(timeoutMs, Map.of());
  }

  /**
   * Begins a transaction with {@code participants} (name → participant URL) enlisted in the same
   * call: for an initiator that knows which services it will call, two round trips fewer than each
   * enlisting itself. A participant that enlists itself anyway, with the same URL, is welcome.
   */
  public Future<TxContext> begin(long timeoutMs, Map<String, String> participants) {
    if (timeoutMs < Limits.TX_TIMEOUT_MS_MIN || timeoutMs > Limits.TX_TIMEOUT_MS_MAX) {
      return Future.failedFuture(new IllegalArgumentException("timeoutMs must be between "
          + Limits.TX_TIMEOUT_MS_MIN + " and " + Limits.TX_TIMEOUT_MS_MAX));
    }
    List<EnlistRequest> named = participants.isEmpty() ? null : participants.entrySet().stream()
        .map(e -> new EnlistRequest(e.getKey(), e.getValue())).toList();
    return call(HttpMethod.POST, coordinatorUrl + "/v1/transactions", new BeginRequest(timeoutMs, named)).map(r -> {
      if (r.status != 201 && r.status != 200) throw r.failure();
      TxView view = r.read(TxView.class);
      return new TxContext(coordinatorUrl, view.id());
    });
  }

  /** Enlists participant {@code name} at {@code participantUrl}; idempotent at the coordinator. */
  public Future<Void> enlist(TxContext tx, String name, String participantUrl) {
    return enlistView(tx, name, participantUrl).mapEmpty();
  }

  /**
   * Like {@link #enlist} but returns the transaction as the coordinator reports it (its
   * {@code deadline} bounds the local branch). Fails with a {@link CoordinatorException}: 409
   * {@code TRANSACTION_NOT_ACTIVE} if phase 1 already began or the transaction ended (roll back any
   * local work), 404 {@code TRANSACTION_UNKNOWN}, 409 {@code PARTICIPANT_CONFLICT}.
   */
  public Future<TxView> enlistView(TxContext tx, String name, String participantUrl) {
    return call(HttpMethod.POST, tx.coordinatorUrl() + "/v1/transactions/" + tx.txId() + "/participants",
        new EnlistRequest(name, participantUrl)).map(r -> {
          if (r.status != 200 && r.status != 201) throw r.failure();
          return r.read(TxView.class);
        });
  }

  /**
   * Asks the coordinator to commit. COMMITTED on 200, ABORTED on 409 with the reason (or 404:
   * unknown, presumed aborted), UNKNOWN on 504 (one-phase commit whose participant did not answer).
   * Any other answer fails the future: the outcome is then not known to the caller.
   *
   * <p>The 404 reads as ABORTED because this is meant as the first commit of a transaction the
   * caller began: nobody else committed it, so no record means it aborted (e.g. the coordinator
   * restarted). A caller that calls this again after losing the first answer must not trust that
   * reading, since a commit that finished and was forgotten is a 404 too: it resolves the outcome
   * from its own records, as the demo's transfer service does with its ledger.
   */
  public Future<CommitResult> commit(TxContext tx) {
    return finish(tx, "commit");
  }

  /** Asks the coordinator to roll back; answers like {@link #commit}. */
  public Future<CommitResult> rollback(TxContext tx) {
    return finish(tx, "rollback");
  }

  /**
   * The transaction's outcome for recovery. Only a decided state or a 404 with
   * {@code TRANSACTION_UNKNOWN} count as an answer; everything else is UNDECIDED or UNREACHABLE, so a
   * misconfigured URL or a proxy's 404 never makes a prepared branch roll back (PROTOCOL-TRAPS 13).
   * Never fails.
   */
  public Future<TxStatus> status(String txId) {
    if (!TxIds.isValid(txId)) return Future.failedFuture(new IllegalArgumentException("not a transaction id: " + txId));
    return call(HttpMethod.GET, coordinatorUrl + "/v1/transactions/" + txId, null).map(r -> {
      if (r.status == 404 && ErrorCodes.TRANSACTION_UNKNOWN.equals(r.code())) return TxStatus.ABORTED;
      if (r.status != 200) return TxStatus.UNREACHABLE;
      TxView view = r.read(TxView.class);
      if (view.state() == null || !txId.equals(view.id())) return TxStatus.UNREACHABLE;
      Outcome o = view.state().outcome();
      if (o == Outcome.COMMITTED) return TxStatus.COMMITTED;
      if (o == Outcome.ABORTED) return TxStatus.ABORTED;
      // ACTIVE, PREPARING, and UNKNOWN (one-phase, whose branch is never prepared): no decision.
      return TxStatus.UNDECIDED;
    }).otherwise(TxStatus.UNREACHABLE);
  }

  /** The full view of a transaction ({@code GET /v1/transactions/{id}}). */
  public Future<TxView> view(String txId) {
    return call(HttpMethod.GET, coordinatorUrl + "/v1/transactions/" + txId, null).map(r -> {
      if (r.status != 200) throw r.failure();
      return r.read(TxView.class);
    });
  }

  @Override
  public void close() {
    client.close();
  }

  // ---------------------------------------------------------------- plumbing

  private Future<CommitResult> finish(TxContext tx, String verb) {
    return call(HttpMethod.POST, tx.coordinatorUrl() + "/v1/transactions/" + tx.txId() + "/" + verb, null).map(r -> {
      String code = r.code();
      String reason = r.field("reason");
      if (reason == null) reason = r.field("message");
      if (r.status == 200) {
        Outcome o = r.outcome();
        return new CommitResult(o == null ? Outcome.COMMITTED : o, o == Outcome.COMMITTED ? null : reason);
      }
      if (r.status == 409) {
        if (ErrorCodes.ALREADY_COMMITTED.equals(code) || r.outcome() == Outcome.COMMITTED) {
          return new CommitResult(Outcome.COMMITTED, null);
        }
        if (r.outcome() == Outcome.ABORTED || ErrorCodes.ALREADY_ABORTED.equals(code) || "ABORTED".equals(code)) {
          return new CommitResult(Outcome.ABORTED, reason);
        }
        throw r.failure();
      }
      if (r.status == 404 && ErrorCodes.TRANSACTION_UNKNOWN.equals(code)) {
        return new CommitResult(Outcome.ABORTED, "the coordinator does not know the transaction (presumed abort): " + reason);
      }
      if (r.status == 504) return new CommitResult(Outcome.UNKNOWN, reason);
      throw r.failure();
    });
  }

  private Future<Reply> call(HttpMethod method, String url, Object body) {
    RequestOptions options = new RequestOptions().setMethod(method).setAbsoluteURI(url).setTimeout(CALL_TIMEOUT_MS);
    byte[] bytes = body == null ? null : Json.write(body);
    if (bytes != null) options.putHeader("Content-Type", "application/json");
    if (authorization != null) options.putHeader("Authorization", authorization);
    // body() is asked for inside send()'s own callback: chained one level out, it can run after the
    // body has already arrived and been dropped, and the reply then reads as empty (Vert.x #5904).
    return client.request(options)
        .compose(req -> (bytes == null ? req.send() : req.send(Buffer.buffer(bytes)))
            .compose(resp -> resp.body().map(b -> new Reply(resp.statusCode(), b))));
  }

  /** A reply, its body parsed leniently on demand. */
  private static final class Reply {
    final int status;
    final Buffer body;
    private JsonNode tree;

    Reply(int status, Buffer body) {
      this.status = status;
      this.body = body;
    }

    JsonNode tree() {
      if (tree == null) {
        try {
          tree = Json.LENIENT.readTree(body.getBytes());
        } catch (Exception e) {
          tree = Json.LENIENT.nullNode();
        }
        if (tree == null) tree = Json.LENIENT.nullNode();
      }
      return tree;
    }

    String field(String name) {
      JsonNode n = tree().get(name);
      return n == null || n.isNull() ? null : n.asText();
    }

    String code() {
      return field("error");
    }

    Outcome outcome() {
      String o = field("outcome");
      if (o == null) return null;
      try {
        return Outcome.valueOf(o);
      } catch (IllegalArgumentException e) {
        return null;
      }
    }

    <T> T read(Class<T> type) {
      try {
        return Json.readLenient(body.getBytes(), type);
      } catch (Exception e) {
        throw new IllegalStateException("unreadable reply from the coordinator: " + e.getMessage());
      }
    }

    CoordinatorException failure() {
      String text = body.toString();
      if (text.length() > QUOTE_CHARS_MAX) text = text.substring(0, QUOTE_CHARS_MAX) + "...";
      return new CoordinatorException(status, code(), field("message") != null ? field("message") : text);
    }
  }
}

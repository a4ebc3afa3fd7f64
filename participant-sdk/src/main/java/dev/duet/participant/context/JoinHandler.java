package dev.duet.participant.context;

import dev.duet.wire.Check;
import dev.duet.wire.ErrorCodes;
import dev.duet.wire.Json;
import dev.duet.wire.Messages.ErrorBody;
import dev.duet.wire.Messages.TxView;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.RoutingContext;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Joins incoming requests to the transaction named in their {@code Duet-Transaction} header: parses
 * it, enlists this participant with the coordinator once per transaction, stores the
 * {@link TxContext} in the routing context ({@link #txContext}) and calls {@code next()}. A request
 * without the header passes through with no context.
 *
 * <p>Answers: 400 {@code BAD_REQUEST} for a malformed header or one naming a coordinator other than
 * the client's (a service must not be made to call arbitrary URLs); 409
 * {@code TRANSACTION_NOT_ACTIVE} if the coordinator refuses the enlistment (phase 1 began or the
 * transaction ended: do no work for it); 503 {@code UNAVAILABLE} if the coordinator cannot be
 * reached.
 */
public final class JoinHandler implements Handler<RoutingContext> {
  private static final Logger log = LoggerFactory.getLogger(JoinHandler.class);

  /** Transactions remembered as enlisted; the oldest is forgotten first (enlisting again is harmless). */
  public static final int REMEMBERED_TX_MAX = 10_000;

  private static final String CONTEXT_KEY = "duet.tx";
  private static final String DEADLINE_KEY = "duet.tx.deadline";

  private final CoordinatorClient client;
  private final String participantName;
  private final String participantUrl;
  /** txId → the enlistment (in flight or done): concurrent requests of one transaction enlist once. */
  private final Map<String, Future<TxView>> enlisted = new LinkedHashMap<>(256, 0.75f, false) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Future<TxView>> eldest) {
      return size() > REMEMBERED_TX_MAX;
    }
  };

  private JoinHandler(CoordinatorClient client, String participantName, String participantUrl) {
    this.client = Check.notNull(client, "client");
    this.participantName = Check.notNull(participantName, "participantName");
    this.participantUrl = Check.notNull(participantUrl, "participantUrl");
  }

  /**
   * @param participantName this service's participant name (as in {@code Participant.name()})
   * @param participantUrl where the coordinator reaches this service's participant endpoints, e.g.
   *     {@code http://bank-a:8081/duet}
   */
  public static JoinHandler create(CoordinatorClient client, String participantName, String participantUrl) {
    return new JoinHandler(client, participantName, participantUrl);
  }

  /** The transaction this request joined, or null if it carried no {@code Duet-Transaction} header. */
  public static TxContext txContext(RoutingContext ctx) {
    return ctx.get(CONTEXT_KEY);
  }

  /**
   * The transaction's deadline (epoch ms) as the coordinator reported it when this participant
   * enlisted, or 0 if unknown: a good {@code deadlineMs} for the local branch.
   */
  public static long deadlineMs(RoutingContext ctx) {
    Long d = ctx.get(DEADLINE_KEY);
    return d == null ? 0 : d;
  }

  @Override
  public void handle(RoutingContext ctx) {
    String header = ctx.request().getHeader(TxContext.HEADER);
    if (header == null) {
      ctx.next();
      return;
    }
    TxContext tx;
    try {
      tx = TxContext.parse(header);
    } catch (IllegalArgumentException e) {
      error(ctx, 400, ErrorCodes.BAD_REQUEST, e.getMessage());
      return;
    }
    if (!tx.coordinatorUrl().equals(client.coordinatorUrl())) {
      error(ctx, 400, ErrorCodes.BAD_REQUEST, TxContext.HEADER + " names coordinator " + tx.coordinatorUrl()
          + " but this service works with " + client.coordinatorUrl());
      return;
    }
    enlistOnce(tx).onComplete(ar -> {
      if (ar.succeeded()) {
        ctx.put(CONTEXT_KEY, tx);
        ctx.put(DEADLINE_KEY, ar.result().deadline());
        ctx.next();
        return;
      }
      Throwable cause = ar.cause();
      if (cause instanceof CoordinatorException ce && (ce.status() == 409 || ce.status() == 404)) {
        error(ctx, 409, ErrorCodes.TRANSACTION_NOT_ACTIVE, "cannot join transaction " + tx.txId() + ": " + ce.getMessage());
      } else {
        log.warn("could not enlist {} in {}: {}", participantName, tx.txId(), cause.toString());
        error(ctx, 503, ErrorCodes.UNAVAILABLE, "cannot reach the coordinator to join transaction " + tx.txId());
      }
    });
  }

  private Future<TxView> enlistOnce(TxContext tx) {
    Future<TxView> f;
    synchronized (enlisted) {
      f = enlisted.get(tx.txId());
      if (f == null || f.failed()) {
        f = client.enlistView(tx, participantName, participantUrl);
        enlisted.put(tx.txId(), f);
      }
    }
    Future<TxView> mine = f;
    // A failed enlistment is not remembered: the next request tries again.
    mine.onFailure(e -> {
      synchronized (enlisted) {
        enlisted.remove(tx.txId(), mine);
      }
    });
    return mine;
  }

  private static void error(RoutingContext ctx, int status, String code, String message) {
    if (ctx.response().ended()) return;
    ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json")
        .end(Buffer.buffer(Json.write(new ErrorBody(code, message))));
  }
}

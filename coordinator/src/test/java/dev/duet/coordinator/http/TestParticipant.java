package dev.duet.coordinator.http;

import dev.duet.wire.AckStatus;
import dev.duet.wire.Headers;
import dev.duet.wire.Json;
import dev.duet.wire.Messages.AckReply;
import dev.duet.wire.Messages.ParticipantRequest;
import dev.duet.wire.Messages.PrepareReply;
import dev.duet.wire.RequestSigner;
import dev.duet.wire.Vote;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A participant speaking the wire protocol over real HTTP on loopback, with scripted behaviour:
 * its vote, delays, and a number of phase-2 calls to fail. It keeps branch state like a real
 * resource manager would (prepared → committed / rolled back) so tests can check atomicity.
 */
public final class TestParticipant implements AutoCloseable {

  public enum BranchState { PREPARED, COMMITTED, ROLLED_BACK }

  public record Call(String kind, String txId, boolean onePhase) {}

  private final Vertx vertx;
  private final HttpServer server;
  public final String name;
  public final List<Call> calls = new CopyOnWriteArrayList<>();
  public final Map<String, BranchState> branches = new ConcurrentHashMap<>();
  public volatile Vote vote = Vote.PREPARED;
  public volatile long prepareDelayMs;
  public final AtomicInteger phase2FailuresLeft = new AtomicInteger();
  public volatile boolean down;
  private volatile RequestSigner verifier;

  public TestParticipant(Vertx vertx, String name) throws Exception {
    this.vertx = vertx;
    this.name = name;
    this.server = vertx.createHttpServer().requestHandler(this::handle).listen(0, "127.0.0.1")
        .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  public TestParticipant verifySignaturesWith(String secret) {
    this.verifier = new RequestSigner(secret);
    return this;
  }

  public String url() {
    return "http://127.0.0.1:" + server.actualPort() + "/tx";
  }

  public long count(String kind, String txId) {
    return calls.stream().filter(c -> c.kind.equals(kind) && c.txId.equals(txId)).count();
  }

  private void handle(HttpServerRequest req) {
    req.body().onSuccess(body -> {
      if (down) {
        req.connection().close();
        return;
      }
      if (verifier != null) {
        String why = verifier.verify(req.method().name(), req.path(), req.getHeader(Headers.TIMESTAMP),
            req.getHeader(Headers.SIGNATURE), body.getBytes(), System.currentTimeMillis());
        if (why != null) {
          req.response().setStatusCode(401).end("{\"error\":\"BAD_SIGNATURE\",\"message\":\"" + why + "\"}");
          return;
        }
      }
      ParticipantRequest r = Json.readStrict(body.getBytes(), ParticipantRequest.class);
      String kind = req.path().substring(req.path().lastIndexOf('/') + 1);
      calls.add(new Call(kind, r.txId(), r.isOnePhase()));
      switch (kind) {
        case "prepare" -> {
          Vote v = vote;
          if (v == Vote.PREPARED) branches.put(r.txId(), BranchState.PREPARED);
          Runnable reply = () -> json(req, 200, new PrepareReply(v, v == Vote.ABORT ? "insufficient funds" : null));
          if (prepareDelayMs > 0) vertx.setTimer(prepareDelayMs, t -> reply.run());
          else reply.run();
        }
        case "commit", "rollback" -> {
          if (phase2FailuresLeft.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
            json(req, 503, Map.of("error", "UNAVAILABLE", "message", "scripted failure"));
            return;
          }
          boolean commit = kind.equals("commit");
          BranchState prior = branches.get(r.txId());
          if (prior == null && !r.isOnePhase()) {
            // Unknown branch: already finished and forgotten → success.
            json(req, 200, new AckReply(commit ? AckStatus.COMMITTED : AckStatus.ROLLED_BACK, null));
            return;
          }
          branches.put(r.txId(), commit ? BranchState.COMMITTED : BranchState.ROLLED_BACK);
          json(req, 200, new AckReply(commit ? AckStatus.COMMITTED : AckStatus.ROLLED_BACK, null));
        }
        default -> json(req, 404, Map.of("error", "NOT_FOUND", "message", kind));
      }
    });
  }

  private static void json(HttpServerRequest req, int status, Object body) {
    req.response().setStatusCode(status).putHeader("Content-Type", "application/json")
        .end(Buffer.buffer(Json.write(body)));
  }

  @Override
  public void close() throws Exception {
    server.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }
}

package dev.duet.coordinator.http;

import dev.duet.wire.AckStatus;
import dev.duet.wire.Headers;
import dev.duet.wire.Json;
import dev.duet.wire.Messages.AckReply;
import dev.duet.wire.Messages.ParticipantRequest;
import dev.duet.wire.Messages.PrepareReply;
import dev.duet.wire.RequestSigner;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The coordinator's calls to participants: {@code POST {url}/prepare|commit|rollback}, signed when
 * a secret is configured. A reply that is not a 200 with a well-formed body is a failed call: the
 * core treats a failed prepare as ABORT and retries a failed commit or rollback.
 */
public final class ParticipantClient {
  private static final Logger log = LoggerFactory.getLogger(ParticipantClient.class);

  /** Bytes of a participant's error reply quoted in the transaction's lastError. */
  private static final int ERROR_QUOTE_CHARS_MAX = 200;

  private final HttpClient client;
  private final RequestSigner signer;
  private final long prepareTimeoutMs;
  private final long phase2TimeoutMs;

  public ParticipantClient(Vertx vertx, RequestSigner signerOrNull, long prepareTimeoutMs,
      long phase2TimeoutMs, int connectionsPerHostMax) {
    this.client = vertx.httpClientBuilder()
        .with(new HttpClientOptions().setKeepAlive(true).setTcpNoDelay(true).setMaxRedirects(0))
        .with(new PoolOptions().setHttp1MaxSize(connectionsPerHostMax).setMaxWaitQueueSize(100_000))
        // A participant that dies resets its pooled connections. The calls on them fail and are
        // retried (and reported STUCK if they keep failing); without a handler, Vert.x would also log
        // each reset as an ERROR.
        .withConnectHandler(conn -> conn.exceptionHandler(e -> log.debug("connection to {} failed: {}", conn.remoteAddress(), e.toString())))
        .build();
    this.signer = signerOrNull;
    this.prepareTimeoutMs = prepareTimeoutMs;
    this.phase2TimeoutMs = phase2TimeoutMs;
  }

  public Future<PrepareReply> prepare(String url, String txId, String participant) {
    return call(url, "/prepare", new ParticipantRequest(txId, participant), prepareTimeoutMs)
        .map(body -> {
          PrepareReply reply = parse(body, PrepareReply.class);
          if (reply.vote() == null) throw new IllegalStateException("prepare reply has no vote");
          return reply;
        });
  }

  public Future<AckStatus> commit(String url, String txId, String participant, boolean onePhase) {
    ParticipantRequest req = new ParticipantRequest(txId, participant, onePhase ? Boolean.TRUE : null);
    return call(url, "/commit", req, onePhase ? prepareTimeoutMs : phase2TimeoutMs).map(ParticipantClient::ack);
  }

  public Future<AckStatus> rollback(String url, String txId, String participant) {
    return call(url, "/rollback", new ParticipantRequest(txId, participant), phase2TimeoutMs)
        .map(ParticipantClient::ack);
  }

  public Future<Void> close() {
    return client.close();
  }

  private Future<Buffer> call(String baseUrl, String suffix, ParticipantRequest body, long timeoutMs) {
    String absolute = baseUrl + suffix;
    byte[] bytes = Json.write(body);
    RequestOptions options = new RequestOptions()
        .setMethod(HttpMethod.POST)
        .setAbsoluteURI(absolute)
        .setTimeout(timeoutMs)
        .putHeader("Content-Type", "application/json");
    if (signer != null) {
      long now = System.currentTimeMillis();
      String path = URI.create(absolute).getRawPath();
      options.putHeader(Headers.TIMESTAMP, Long.toString(now));
      options.putHeader(Headers.SIGNATURE, signer.sign("POST", path, now, bytes));
    }
    // body() is asked for inside send()'s own callback: chained one level out, it can run after the
    // body has already arrived and been dropped, and the reply then reads as empty (Vert.x #5904).
    return client.request(options)
        .compose(req -> req.send(Buffer.buffer(bytes))
            .compose(resp -> resp.body().map(b -> {
              if (resp.statusCode() != 200) {
                String text = b.toString(StandardCharsets.UTF_8);
                if (text.length() > ERROR_QUOTE_CHARS_MAX) text = text.substring(0, ERROR_QUOTE_CHARS_MAX) + "...";
                throw new IllegalStateException("HTTP " + resp.statusCode() + " " + text);
              }
              return b;
            })));
  }

  private static AckStatus ack(Buffer body) {
    AckReply reply = parse(body, AckReply.class);
    if (reply.status() == null) throw new IllegalStateException("acknowledgement has no status");
    return reply.status();
  }

  private static <T> T parse(Buffer body, Class<T> type) {
    try {
      return Json.readLenient(body.getBytes(), type);
    } catch (Exception e) {
      throw new IllegalStateException("unreadable reply: " + e.getMessage());
    }
  }
}

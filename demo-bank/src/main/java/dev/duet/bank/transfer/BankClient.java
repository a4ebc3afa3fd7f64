package dev.duet.bank.transfer;

import com.fasterxml.jackson.databind.JsonNode;
import dev.duet.participant.context.TxContext;
import dev.duet.wire.Headers;
import dev.duet.wire.Json;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The transfer service's calls to the banks. Never fails: an unreachable bank is status 0. */
public final class BankClient {
  private static final Logger log = LoggerFactory.getLogger(BankClient.class);

  /** Connections to one bank. */
  static final int CONNECTIONS_PER_BANK_MAX = 64;
  /** Requests waiting for a connection, over all banks; past it a call fails at once. */
  static final int WAITING_REQUESTS_MAX = 4096;

  /** A bank's answer: 200 with its body, an error status with its code and message, or 0 when unreachable. */
  public record BankReply(int status, String code, String message, JsonNode body) {
    public boolean ok() {
      return status == 200;
    }
  }

  private final HttpClient client;
  private final Map<String, String> banks;
  private final long callTimeoutMs;

  public BankClient(Vertx vertx, Map<String, String> banks, long callTimeoutMs) {
    this.banks = Map.copyOf(banks);
    this.callTimeoutMs = callTimeoutMs;
    this.client = vertx.httpClientBuilder()
        .with(new HttpClientOptions().setKeepAlive(true).setTcpNoDelay(true).setMaxRedirects(0))
        .with(new PoolOptions().setHttp1MaxSize(CONNECTIONS_PER_BANK_MAX).setMaxWaitQueueSize(WAITING_REQUESTS_MAX))
        // A bank that dies resets its pooled connections; the calls on them fail and the transfer
        // aborts. Without a handler Vert.x would also log each reset as an ERROR.
        .withConnectHandler(conn -> conn.exceptionHandler(e -> log.debug("connection to {} failed: {}", conn.remoteAddress(), e.toString())))
        .build();
  }

  /** {@code POST /accounts/{account}/debit|credit} inside {@code tx}. */
  public Future<BankReply> move(TxContext tx, String bank, long account, String op, long amount) {
    RequestOptions o = new RequestOptions().setMethod(HttpMethod.POST)
        .setAbsoluteURI(banks.get(bank) + "/accounts/" + account + "/" + op).setTimeout(callTimeoutMs)
        .putHeader("Content-Type", "application/json").putHeader(Headers.TRANSACTION, tx.headerValue());
    return call(o, Buffer.buffer("{\"amount\":" + amount + "}"));
  }

  /** {@code GET /ledger/{txId}}: the committed ledger rows of a transaction at a bank. */
  public Future<BankReply> ledgerOf(String bank, String txId) {
    RequestOptions o = new RequestOptions().setMethod(HttpMethod.GET)
        .setAbsoluteURI(banks.get(bank) + "/ledger/" + txId).setTimeout(callTimeoutMs);
    return call(o, null);
  }

  private Future<BankReply> call(RequestOptions o, Buffer body) {
    // body() is asked for inside send()'s own callback: chained one level out, it can run after the
    // body has already arrived and been dropped, and the reply then reads as empty (Vert.x #5904).
    return client.request(o)
        .compose(req -> (body == null ? req.send() : req.send(body))
            .compose(resp -> resp.body().map(b -> {
              JsonNode json = null;
              try {
                json = Json.LENIENT.readTree(b.getBytes());
              } catch (Exception notJson) {
                // an unreadable body leaves code and message empty
              }
              String code = json != null && json.hasNonNull("error") ? json.get("error").asText() : null;
              String message = json != null && json.hasNonNull("message") ? json.get("message").asText() : null;
              return new BankReply(resp.statusCode(), code, message, json);
            })))
        .otherwise(e -> new BankReply(0, null, e.getMessage() == null ? e.toString() : e.getMessage(), null));
  }

  public void close() {
    client.close();
  }
}

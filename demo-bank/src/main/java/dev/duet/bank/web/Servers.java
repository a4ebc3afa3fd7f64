package dev.duet.bank.web;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.internal.VertxInternal;
import io.vertx.ext.web.Router;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Starts one HTTP server per event loop on the same port, so requests spread over the loops. */
public final class Servers {
  private Servers() {}

  public static List<HttpServer> listen(Vertx vertx, Router router, String host, int port, int instances)
      throws Exception {
    List<HttpServer> servers = new ArrayList<>();
    for (int i = 0; i < instances; i++) {
      // A new context on the next event loop each time; getOrCreateContext would return this
      // thread's one context again and put every server on a single event loop.
      Context ctx = ((VertxInternal) vertx).createEventLoopContext();
      Future<HttpServer> f = Future.future(p -> ctx.runOnContext(v -> vertx
          .createHttpServer(new HttpServerOptions().setHost(host).setPort(port).setTcpNoDelay(true))
          .requestHandler(router).listen().onComplete(p)));
      servers.add(f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS));
    }
    return servers;
  }
}

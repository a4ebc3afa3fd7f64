package dev.duet.bank.chaos;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * A TCP proxy between the coordinator and one bank: the bank enlists with the proxy's port as its
 * participant URL, so every prepare, commit and rollback the coordinator sends passes through here.
 * It can pass traffic, delay it, drop connections (before a request reaches the bank or after the
 * bank answered: the ack lost), or blackhole the bank (connections accepted, nothing forwarded, as
 * an unreachable host looks). Everything runs on one event loop, so no state is shared across threads.
 */
public final class TcpProxy implements AutoCloseable {
  public enum Mode { PASS, DELAY, DROP, BLACKHOLE }

  /** Connections held at once; past it new ones are closed at once. */
  static final int CONNECTIONS_MAX = 512;
  private static final long CONNECT_TIMEOUT_MS = 2000;

  private final Vertx vertx;
  private final Context context;
  private final NetServer server;
  private final NetClient client;
  private final int upstreamPort;
  private final SplittableRandom random;
  private final Set<Link> links = new HashSet<>();
  private volatile Mode mode = Mode.PASS;
  private volatile long delayMs;
  private volatile double dropProbability;
  private volatile long dropped; // written on the loop only

  /** One proxied connection: {@code down} from the coordinator, {@code up} to the bank. */
  private final class Link {
    final NetSocket down;
    NetSocket up;
    /** Bytes were discarded (blackhole): the stream is broken, close it when healed. */
    boolean poisoned;
    long dueUp;
    long dueDown;

    Link(NetSocket down) {
      this.down = down;
    }

    void close() {
      if (links.remove(this)) {
        down.close();
        if (up != null) up.close();
      }
    }
  }

  private TcpProxy(Vertx vertx, Context context, NetServer server, NetClient client, int upstreamPort, long seed) {
    this.vertx = vertx;
    this.context = context;
    this.server = server;
    this.client = client;
    this.upstreamPort = upstreamPort;
    this.random = new SplittableRandom(seed);
  }

  /** Listens on 127.0.0.1:{@code port} and forwards to 127.0.0.1:{@code upstreamPort}. */
  public static TcpProxy start(int port, int upstreamPort, long seed) throws Exception {
    Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1).setWorkerPoolSize(1));
    Context ctx = vertx.getOrCreateContext();
    NetClient client = vertx.createNetClient(new NetClientOptions().setConnectTimeout((int) CONNECT_TIMEOUT_MS).setTcpNoDelay(true));
    NetServer server = vertx.createNetServer(new NetServerOptions().setHost("127.0.0.1").setPort(port).setTcpNoDelay(true));
    TcpProxy proxy = new TcpProxy(vertx, ctx, server, client, upstreamPort, seed);
    server.connectHandler(proxy::accept);
    try {
      io.vertx.core.Future.<NetServer>future(p -> ctx.runOnContext(v -> server.listen().onComplete(p)))
          .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      vertx.close();
      throw e;
    }
    return proxy;
  }

  public int port() {
    return server.actualPort();
  }

  public Mode mode() {
    return mode;
  }

  /** Heals: traffic passes again; connections broken by a blackhole are closed (their bytes are gone). */
  public void pass() {
    mode = Mode.PASS;
    onLoop(() -> {
      for (Link l : new ArrayList<>(links)) if (l.poisoned) l.close();
    });
  }

  /** Every chunk in either direction arrives {@code ms} later, in order. */
  public void delay(long ms) {
    delayMs = ms;
    mode = Mode.DELAY;
  }

  /** Each request or reply chunk is lost with {@code probability}, its connection closed. */
  public void drop(double probability) {
    dropProbability = probability;
    mode = Mode.DROP;
  }

  /** The bank becomes unreachable: open connections go silent, new ones are accepted and ignored. */
  public void blackhole() {
    mode = Mode.BLACKHOLE;
    onLoop(() -> links.forEach(l -> l.poisoned = true));
  }

  /** Connections closed by {@link #drop} so far. */
  public long dropped() {
    return dropped;
  }

  private void onLoop(Runnable r) {
    context.runOnContext(v -> r.run());
  }

  private void accept(NetSocket down) {
    if (links.size() >= CONNECTIONS_MAX) {
      down.close();
      return;
    }
    Link link = new Link(down);
    links.add(link);
    down.closeHandler(v -> link.close());
    down.exceptionHandler(e -> link.close());
    if (mode == Mode.BLACKHOLE) {
      link.poisoned = true;
      down.handler(b -> {});
      return;
    }
    down.pause();
    client.connect(upstreamPort, "127.0.0.1").onComplete(ar -> {
      if (ar.failed() || !links.contains(link)) {
        if (ar.succeeded()) ar.result().close();
        link.close(); // the bank is down: the coordinator sees the connection close, as it would
        return;
      }
      NetSocket up = ar.result();
      link.up = up;
      up.closeHandler(v -> link.close());
      up.exceptionHandler(e -> link.close());
      down.handler(b -> forward(link, b, true));
      up.handler(b -> forward(link, b, false));
      down.resume();
    });
  }

  /** Moves one chunk; {@code toBank} is the request direction. */
  private void forward(Link link, Buffer b, boolean toBank) {
    Mode m = mode;
    if (m == Mode.BLACKHOLE || link.poisoned) {
      link.poisoned = true;
      return;
    }
    // Requests are lost half as often as replies: a lost reply (work done, answer gone) is the harder case.
    if (m == Mode.DROP && random.nextDouble() < (toBank ? dropProbability / 2 : dropProbability)) {
      dropped++;
      link.close();
      return;
    }
    NetSocket from = toBank ? link.down : link.up;
    NetSocket to = toBank ? link.up : link.down;
    long now = System.nanoTime() / 1_000_000;
    long due = Math.max(now + (m == Mode.DELAY ? delayMs : 0), toBank ? link.dueUp : link.dueDown);
    if (toBank) link.dueUp = due;
    else link.dueDown = due;
    if (due <= now) {
      write(from, to, b);
    } else {
      // Timers due at the same moment fire in the order set, so chunks stay in order.
      vertx.setTimer(due - now, t -> {
        if (links.contains(link) && !link.poisoned) write(from, to, b);
      });
    }
  }

  private static void write(NetSocket from, NetSocket to, Buffer b) {
    to.write(b);
    if (to.writeQueueFull()) {
      from.pause();
      to.drainHandler(v -> from.resume());
    }
  }

  @Override
  public void close() {
    vertx.close().toCompletionStage().toCompletableFuture().join();
  }
}

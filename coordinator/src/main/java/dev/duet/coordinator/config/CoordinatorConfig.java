package dev.duet.coordinator.config;

import dev.duet.coordinator.protocol.ProtocolConfig;
import dev.duet.wire.Check;
import java.nio.file.Path;

/**
 * Everything the coordinator process is configured with. Built by {@code Main} from flags and
 * environment variables, or directly by tests.
 *
 * @param host address the API listens on
 * @param port API port (0 picks a free one)
 * @param dataDir where the decision log lives
 * @param shards independent protocol cores, each on its own event loop; a transaction belongs to
 *     the shard its id hashes to
 * @param protocol timeouts and bounds of the protocol core
 * @param prepareCallTimeoutMs how long one prepare call to a participant may take
 * @param phase2CallTimeoutMs how long one commit or rollback call may take before it is retried
 * @param connectionsPerHostMax HTTP connections to one participant host, per shard
 * @param pendingRequestsMax client requests parked per shard awaiting an outcome
 * @param signingSecret shared secret for signing calls to participants; null disables signing
 * @param clientToken bearer token clients must present on /v1; null disables the check
 * @param fsync false only for tests and benchmarks that say so: it gives up durability
 * @param segmentBytesMax size at which the log rolls to a new segment
 * @param tickMs resolution of the core's timers
 * @param chaos serve the fault-injection admin endpoint /admin/failpoints (tests and chaos runs only)
 */
public record CoordinatorConfig(
    String host,
    int port,
    Path dataDir,
    int shards,
    ProtocolConfig protocol,
    long prepareCallTimeoutMs,
    long phase2CallTimeoutMs,
    int connectionsPerHostMax,
    int pendingRequestsMax,
    String signingSecret,
    String clientToken,
    boolean fsync,
    long segmentBytesMax,
    long tickMs,
    boolean chaos) {

  public CoordinatorConfig {
    Check.that(port >= 0 && port <= 65535, "port in range");
    Check.that(shards >= 1 && shards <= 64, "1..64 shards");
    Check.that(prepareCallTimeoutMs > 0 && phase2CallTimeoutMs > 0, "positive call timeouts");
    Check.that(connectionsPerHostMax > 0 && pendingRequestsMax > 0, "positive bounds");
    Check.that(tickMs > 0 && tickMs <= 1000, "tick in (0, 1000] ms");
    Check.notNull(dataDir, "dataDir");
  }

  public static CoordinatorConfig defaults(Path dataDir, int port) {
    ProtocolConfig protocol = ProtocolConfig.defaults();
    return new CoordinatorConfig("127.0.0.1", port, dataDir,
        Math.max(1, Runtime.getRuntime().availableProcessors()), protocol,
        protocol.prepareTimeoutMs(), 10_000, 256, 50_000, null, null, true, 64L << 20, 10, false);
  }

  public CoordinatorConfig withProtocol(ProtocolConfig p) {
    return new CoordinatorConfig(host, port, dataDir, shards, p, Math.min(prepareCallTimeoutMs, p.prepareTimeoutMs()),
        phase2CallTimeoutMs, connectionsPerHostMax, pendingRequestsMax, signingSecret, clientToken,
        fsync, segmentBytesMax, tickMs, chaos);
  }

  public CoordinatorConfig withSecurity(String signingSecret, String clientToken) {
    return new CoordinatorConfig(host, port, dataDir, shards, protocol, prepareCallTimeoutMs,
        phase2CallTimeoutMs, connectionsPerHostMax, pendingRequestsMax, signingSecret, clientToken,
        fsync, segmentBytesMax, tickMs, chaos);
  }

  public CoordinatorConfig withShards(int n) {
    return new CoordinatorConfig(host, port, dataDir, n, protocol, prepareCallTimeoutMs,
        phase2CallTimeoutMs, connectionsPerHostMax, pendingRequestsMax, signingSecret, clientToken,
        fsync, segmentBytesMax, tickMs, chaos);
  }

  public CoordinatorConfig withPhase2CallTimeoutMs(long ms) {
    return new CoordinatorConfig(host, port, dataDir, shards, protocol, prepareCallTimeoutMs,
        ms, connectionsPerHostMax, pendingRequestsMax, signingSecret, clientToken,
        fsync, segmentBytesMax, tickMs, chaos);
  }

  public CoordinatorConfig withChaos(boolean on) {
    return new CoordinatorConfig(host, port, dataDir, shards, protocol, prepareCallTimeoutMs,
        phase2CallTimeoutMs, connectionsPerHostMax, pendingRequestsMax, signingSecret, clientToken,
        fsync, segmentBytesMax, tickMs, on);
  }

  public CoordinatorConfig withSegmentBytesMax(long bytes) {
    return new CoordinatorConfig(host, port, dataDir, shards, protocol, prepareCallTimeoutMs,
        phase2CallTimeoutMs, connectionsPerHostMax, pendingRequestsMax, signingSecret, clientToken,
        fsync, bytes, tickMs, chaos);
  }
}

package dev.duet.bank.faults;

import dev.duet.bank.chaos.Cluster;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Function;

/** The demo's processes started from the test classpath, which holds the coordinator too. */
final class Launch {
  private Launch() {}

  static List<String> coordinator() {
    return Cluster.jvm(List.of("-cp", System.getProperty("java.class.path"), dev.duet.coordinator.Main.class.getName()));
  }

  static List<String> demo() {
    return Cluster.jvm(List.of("-cp", System.getProperty("java.class.path"), dev.duet.bank.Main.class.getName()));
  }

  /** No proxies: the deterministic tests crash processes, they do not break the network. */
  static Cluster.Options options(Path dir, Function<String, List<String>> dbArgs) {
    return new Cluster.Options(dir, coordinator(), demo(), dbArgs, false, 1, FailpointCrashSuite.ACCOUNTS,
        FailpointCrashSuite.INITIAL_BALANCE, 4_000, 300);
  }
}

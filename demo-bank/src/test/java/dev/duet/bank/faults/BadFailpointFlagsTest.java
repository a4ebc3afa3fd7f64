package dev.duet.bank.faults;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A bad --failpoints stops the coordinator and a bank at start-up with one clear line, never ignored. */
class BadFailpointFlagsTest {
  @TempDir Path dir;

  record Exit(int status, String firstLine, String output) {}

  @Test
  void theCoordinatorRefusesBadSpecs() throws Exception {
    List<String> base = new ArrayList<>(Launch.coordinator());
    base.addAll(List.of("--port", "0", "--data-dir", dir.resolve("coordinator").toString()));
    expectRefused(base, "coordinator.nowhere=crash", "--failpoints: unknown failpoint 'coordinator.nowhere'");
    expectRefused(base, "coordinator.after-decision=halt", "action must be crash, error or delay(ms)");
    expectRefused(base, "coordinator.after-decision=crash@0", "probability must be in (0, 1]");
  }

  @Test
  void aBankRefusesBadSpecs() throws Exception {
    List<String> base = new ArrayList<>(Launch.demo());
    base.addAll(List.of("bank", "--name", "bank-a", "--port", "1", "--data-dir", dir.resolve("bank-a").toString()));
    expectRefused(base, "participant.before-prepar=crash", "--failpoints: unknown failpoint 'participant.before-prepar'");
    expectRefused(base, "participant.after-prepare=delay(soon)", "delay is not a number");
    expectRefused(base, "participant.after-commit=crash@2", "probability must be in (0, 1]");
  }

  private static void expectRefused(List<String> base, String spec, String says) throws Exception {
    List<String> cmd = new ArrayList<>(base);
    cmd.addAll(List.of("--failpoints", spec));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isEqualTo(2);
    String first = out.lines().findFirst().orElse("");
    assertThat(first).as(out).contains(says);
    assertThat(out).doesNotContain("\tat ").doesNotContain("ready on");
  }
}

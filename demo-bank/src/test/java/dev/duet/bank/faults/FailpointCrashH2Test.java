package dev.duet.bank.faults;

import static org.assertj.core.api.Assertions.assertThat;

import dev.duet.bank.chaos.Cluster;
import dev.duet.bank.chaos.Node;
import dev.duet.bank.it.Http;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The crash failpoints with both banks on H2 files; also the admin endpoints' answers to bad input. */
class FailpointCrashH2Test extends FailpointCrashSuite {
  @BeforeAll
  void startCluster(@TempDir Path dir) throws Exception {
    c = Cluster.start(Launch.options(dir, null));
  }

  @Override
  List<String> postgresUrls() {
    return List.of();
  }

  /** A bad spec on either admin endpoint is a JSON 400 naming the problem, and arms nothing. */
  @Test
  @Order(0)
  void badSpecsOnTheAdminEndpointsAre400AndArmNothing() {
    for (Node n : List.of(c.coordinator, c.banks.get("bank-a"))) {
      record Case(String body, String error, String says) {}
      List<Case> cases = List.of(
          new Case("{\"spec\":\"participant.nowhere=crash\"}", "BAD_REQUEST", "unknown failpoint 'participant.nowhere'"),
          new Case("{\"spec\":\"participant.after-prepare=explode\"}", "BAD_REQUEST", "action must be crash, error or delay(ms)"),
          new Case("{\"spec\":\"participant.after-prepare=crash@1.5\"}", "BAD_REQUEST", "probability must be in (0, 1]"),
          new Case("{\"spec\":\"participant.after-prepare=crash@often\"}", "BAD_REQUEST", "probability is not a number"),
          new Case("{\"spec\":\"participant.after-prepare=crash*0\"}", "BAD_REQUEST", "count must be"),
          new Case("{\"spec\":\"participant.after-prepare=delay(-5)\"}", "BAD_REQUEST", "delay must be"),
          // One bad part spoils the whole spec: the good part before it is not armed either.
          new Case("{\"spec\":\"participant.after-commit=crash,coordinator.nowhere=crash\"}", "BAD_REQUEST", "unknown failpoint"),
          new Case("{\"spec\":\"\"}", "BAD_REQUEST", "spec is required"),
          new Case("{}", "BAD_REQUEST", "spec"),
          new Case("{\"spec\": ", "BAD_JSON", ""));
      for (Case k : cases) {
        Http.Response r = Http.send("POST", n.url() + "/admin/failpoints", k.body());
        assertThat(r.status()).as(n.name + " " + k.body() + " -> " + r.text()).isEqualTo(400);
        assertThat(r.str("error")).as(r.text()).isEqualTo(k.error());
        assertThat(r.str("message")).as(r.text()).contains(k.says());
        assertThat(r.text()).doesNotContain("\tat ");
      }
      // An extra field is refused too (the coordinator as BAD_JSON, the bank as BAD_REQUEST).
      Http.Response extra = Http.send("POST", n.url() + "/admin/failpoints",
          "{\"spec\":\"participant.after-commit=crash\",\"also\":1}");
      assertThat(extra.status()).as(n.name + " -> " + extra.text()).isEqualTo(400);
      assertThat(extra.text()).contains("also");
      Http.Response shown = Http.send("GET", n.url() + "/admin/failpoints", null);
      assertThat(shown.status()).isEqualTo(200);
      assertThat(shown.json().get("armed").size()).as(n.name + " armed nothing: " + shown.text()).isZero();
      assertThat(shown.json().get("known").size()).isEqualTo(7);
      // A good spec arms, DELETE disarms.
      arm(n, "participant.after-commit=delay(1)*1@0.5");
      assertThat(Http.send("GET", n.url() + "/admin/failpoints", null).json().get("armed").has("participant.after-commit")).isTrue();
      assertThat(Http.send("DELETE", n.url() + "/admin/failpoints", null).json().get("armed").size()).isZero();
    }
  }
}

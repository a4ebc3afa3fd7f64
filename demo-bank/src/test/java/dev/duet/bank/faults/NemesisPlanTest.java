package dev.duet.bank.faults;

import static org.assertj.core.api.Assertions.assertThat;

import dev.duet.bank.chaos.Nemesis;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** A seed fixes the faults of a chaos run: same seed, same faults in the same order. */
class NemesisPlanTest {
  @Test
  void theSameSeedGivesTheSameFaultsAndAnotherSeedOthers() {
    List<Nemesis.Fault> a = Nemesis.plan(7, 600);
    assertThat(Nemesis.plan(7, 600)).isEqualTo(a);
    assertThat(Nemesis.plan(8, 600)).isNotEqualTo(a);
    // A short run is the start of a longer one with the same seed.
    List<Nemesis.Fault> shorter = Nemesis.plan(7, 60);
    assertThat(a.subList(0, shorter.size())).isEqualTo(shorter);
  }

  @Test
  void aLongRunInjectsEveryKindOnEveryTargetAndEveryFailpoint() {
    List<Nemesis.Fault> plan = Nemesis.plan(1, 1200);
    assertThat(plan.stream().map(Nemesis.Fault::kind).collect(Collectors.toSet()))
        .containsExactlyInAnyOrder(Nemesis.Kind.values());
    assertThat(plan.stream().filter(f -> f.kind() == Nemesis.Kind.KILL).map(Nemesis.Fault::target).collect(Collectors.toSet()))
        .isEqualTo(Set.of("coordinator", "bank-a", "bank-b", "transfers"));
    assertThat(plan.stream().filter(f -> f.kind() == Nemesis.Kind.CRASH_AT_FAILPOINT).map(Nemesis.Fault::detail)
        .collect(Collectors.toSet())).isEqualTo(dev.duet.failpoints.Failpoints.KNOWN);
    for (int i = 1; i < plan.size(); i++) {
      Nemesis.Fault prev = plan.get(i - 1);
      assertThat(plan.get(i).atMs()).as("faults do not overlap").isGreaterThan(prev.atMs() + prev.durationMs());
    }
  }
}

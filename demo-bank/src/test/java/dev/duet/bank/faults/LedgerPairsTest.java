package dev.duet.bank.faults;

import static org.assertj.core.api.Assertions.assertThat;

import dev.duet.bank.chaos.Invariants;
import dev.duet.bank.load.Audit.Entry;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The "both or neither" check itself: it must catch a half-done or unbalanced transaction. */
class LedgerPairsTest {
  @Test
  void aTransferInBothBanksPassesAndHalfDoneOrUnbalancedOnesAreViolations() {
    List<String> v = new ArrayList<>();
    int seen = Invariants.checkPairs(Map.of(
        "bank-a", Map.of("T1", List.of(new Entry(1, -50)), "T2", List.of(new Entry(3, -5), new Entry(4, 5))),
        "bank-b", Map.of("T1", List.of(new Entry(2, 50)))), v);
    assertThat(seen).isEqualTo(2);
    assertThat(v).isEmpty();

    seen = Invariants.checkPairs(Map.of(
        "bank-a", Map.of("T1", List.of(new Entry(1, -50)), "T3", List.of(new Entry(1, -7))),
        "bank-b", Map.of("T1", List.of(new Entry(2, 49)))), v);
    assertThat(seen).isEqualTo(2);
    assertThat(v).hasSize(2).anyMatch(s -> s.contains("T1")).anyMatch(s -> s.contains("T3") && s.contains("half done"));
  }
}

package dev.duet.coordinator.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Runs {@link Simulation} over many seeds. A failure names its seed; replay it exactly with
 * {@code -Dsim.seed=N}. {@code -Dsim.seeds=N} runs more seeds (default 300), {@code -Dsim.steps=N}
 * longer runs (default 400 steps of fault phase, then 60 s of simulated time without faults).
 */
class SimulationTest {

  private static final long SEED_BASE = 0x5EED_0000L;

  @Test
  @DisplayName("atomicity and liveness hold under loss, delay, duplication, reordering and crashes")
  void seeds() {
    int steps = Integer.getInteger("sim.steps", 400);
    String one = System.getProperty("sim.seed");
    if (one != null && !one.isBlank()) {
      run(Long.parseLong(one.trim()), steps);
      return;
    }
    int seeds = Integer.getInteger("sim.seeds", 300);
    Totals t = new Totals();
    for (int i = 0; i < seeds; i++) t.add(run(SEED_BASE + i, steps));
    // The runs must really have exercised what they claim to: a simulator whose faults never fire
    // would pass vacuously.
    assertThat(t.committed).as("commits reported to clients").isGreaterThan(seeds * 5L);
    assertThat(t.aborted).as("aborts reported to clients").isGreaterThan(seeds);
    assertThat(t.unknown).as("one-phase commits without an answer").isPositive();
    assertThat(t.coordinatorCrashes).as("coordinator crashes").isGreaterThan(seeds / 3);
    assertThat(t.participantCrashes).as("participant crashes").isGreaterThan(seeds);
    assertThat(t.stuckAlerts).as("STUCK alerts from the never-answering participant").isPositive();
    System.out.printf("simulation: %d seeds x %d steps: %d committed, %d aborted, %d unknown told; "
            + "%d coordinator and %d participant crashes; %d stuck alerts%n",
        seeds, steps, t.committed, t.aborted, t.unknown, t.coordinatorCrashes, t.participantCrashes, t.stuckAlerts);
  }

  private static Simulation run(long seed, int steps) {
    // Derived from the seed, so the seed alone replays the run.
    int participants = 2 + (int) Math.floorMod(seed, 4L); // 2..5
    boolean blackHole = Math.floorMod(seed, 3L) == 0;
    Simulation sim = new Simulation(seed, participants, blackHole);
    try {
      for (int i = 0; i < steps; i++) sim.step();
      sim.settle(60_000);
    } catch (Simulation.Violation v) {
      throw v;
    } catch (RuntimeException e) {
      throw new AssertionError("seed " + seed + " (replay: -Dsim.seed=" + seed + "): the core threw " + e, e);
    }
    return sim;
  }

  private static final class Totals {
    long committed, aborted, unknown, coordinatorCrashes, participantCrashes, stuckAlerts;

    void add(Simulation s) {
      committed += s.committedTold;
      aborted += s.abortedTold;
      unknown += s.unknownTold;
      coordinatorCrashes += s.coordinatorCrashes;
      participantCrashes += s.participantCrashes;
      stuckAlerts += s.stuckAlerts;
    }
  }
}

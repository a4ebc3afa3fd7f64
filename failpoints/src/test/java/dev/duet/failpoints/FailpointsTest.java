package dev.duet.failpoints;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class FailpointsTest {

  @AfterEach
  void clear() {
    Failpoints.clear();
  }

  @Test
  void unarmedFailpointsDoNothing() {
    Failpoints.hit(Failpoints.COORDINATOR_AFTER_DECISION);
    assertThat(Failpoints.armed(Failpoints.COORDINATOR_AFTER_DECISION)).isFalse();
  }

  @Test
  void anErrorFailpointFiresForItsCountThenStops() {
    Failpoints.configure("participant.after-commit=error*2");
    assertThatThrownBy(() -> Failpoints.hit(Failpoints.PARTICIPANT_AFTER_COMMIT)).isInstanceOf(Failpoints.InjectedFault.class);
    assertThatThrownBy(() -> Failpoints.hit(Failpoints.PARTICIPANT_AFTER_COMMIT)).isInstanceOf(Failpoints.InjectedFault.class);
    Failpoints.hit(Failpoints.PARTICIPANT_AFTER_COMMIT);
    assertThat(Failpoints.fired()).containsEntry(Failpoints.PARTICIPANT_AFTER_COMMIT, 2);
    // Other failpoints are untouched.
    Failpoints.hit(Failpoints.PARTICIPANT_AFTER_PREPARE);
  }

  @Test
  void delaysAreParsed() {
    Failpoints.configure("participant.after-prepare=delay(20)@0.5, coordinator.recovery=crash*1");
    assertThat(Failpoints.armedNow().get(Failpoints.PARTICIPANT_AFTER_PREPARE))
        .isEqualTo(new Failpoints.Arm(Failpoints.PARTICIPANT_AFTER_PREPARE, Failpoints.Kind.DELAY, 20, -1, 0.5));
    assertThat(Failpoints.armed(Failpoints.COORDINATOR_RECOVERY)).isTrue();
  }

  @Test
  void badSpecsAreRefusedWithAClearMessageAndArmNothing() {
    assertThatThrownBy(() -> Failpoints.configure("coordinator.nowhere=crash")).hasMessageContaining("unknown failpoint 'coordinator.nowhere'");
    assertThatThrownBy(() -> Failpoints.configure("coordinator.recovery=explode")).hasMessageContaining("action must be");
    assertThatThrownBy(() -> Failpoints.configure("coordinator.recovery=crash@2")).hasMessageContaining("probability");
    assertThatThrownBy(() -> Failpoints.configure("coordinator.recovery=crash@x")).hasMessageContaining("not a number");
    assertThatThrownBy(() -> Failpoints.configure("coordinator.recovery=delay(-1)")).hasMessageContaining("delay");
    assertThatThrownBy(() -> Failpoints.configure("coordinator.recovery=crash*0")).hasMessageContaining("count");
    assertThatThrownBy(() -> Failpoints.configure("coordinator.recovery=crash, junk")).hasMessageContaining("name=action");
    assertThat(Failpoints.armedNow()).isEmpty();
  }
}

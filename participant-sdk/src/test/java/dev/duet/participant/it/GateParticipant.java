package dev.duet.participant.it;

import dev.duet.participant.Participant;
import dev.duet.wire.AckStatus;
import dev.duet.wire.Vote;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A hand-written in-memory participant whose prepare waits for a gate: it holds the coordinator's
 * decision back while a test kills the other participant after that one prepared.
 */
final class GateParticipant implements Participant {
  final CountDownLatch gate = new CountDownLatch(1);
  final Map<String, String> branches = new ConcurrentHashMap<>();

  @Override
  public String name() {
    return "gate";
  }

  @Override
  public Vote prepare(String txId) throws Exception {
    if (!gate.await(60, TimeUnit.SECONDS)) throw new IllegalStateException("gate never opened");
    branches.put(txId, "prepared");
    return Vote.PREPARED;
  }

  @Override
  public AckStatus commit(String txId, boolean onePhase) {
    branches.put(txId, "committed");
    return AckStatus.COMMITTED;
  }

  @Override
  public AckStatus rollback(String txId) {
    branches.put(txId, "rolled back");
    return AckStatus.ROLLED_BACK;
  }

  @Override
  public List<String> inDoubt() {
    return branches.entrySet().stream().filter(e -> e.getValue().equals("prepared")).map(Map.Entry::getKey).toList();
  }
}

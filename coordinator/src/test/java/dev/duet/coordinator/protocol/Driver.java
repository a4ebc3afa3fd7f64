package dev.duet.coordinator.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import dev.duet.coordinator.protocol.Action.AppendCommit;
import dev.duet.coordinator.protocol.Action.Reply;
import dev.duet.coordinator.protocol.Action.Send;
import dev.duet.wire.Messages.TxView;
import dev.duet.wire.TxIds;
import dev.duet.wire.Vote;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Steps one {@link Coordinator} by hand, like etcd raft's tests: events in, the actions that come
 * out are read back with {@link #take()}. Time is a field the test moves.
 */
final class Driver {

  /** Small numbers so tests can walk through every timeout and retry. */
  static final ProtocolConfig CONFIG = new ProtocolConfig(
      1_000, // prepareTimeoutMs
      100, // retryBackoffMsMin
      1_600, // retryBackoffMsMax
      3, // retryAlertAttempts
      100, // liveTransactionsMax
      50, // finishedRetainedMax
      60_000, // finishedRetainMs
      4); // waitersPerTxMax

  final Coordinator core;
  long now = 1_700_000_000_000L;
  private long requestIds;
  private final List<Action> carried = new ArrayList<>();

  Driver() {
    this(CONFIG);
  }

  Driver(ProtocolConfig config) {
    core = new Coordinator(config, new SplittableRandom(42));
  }

  static String url(String name) {
    return "http://" + name + ".test/tx";
  }

  String begin() {
    return begin(null);
  }

  String begin(Long timeoutMs) {
    List<Action> earlier = core.takeActions();
    String id = TxIds.next(now);
    Answer a = core.begin(id, timeoutMs, now);
    assertThat(a.created()).as("begin creates").isTrue();
    assertThat(core.takeActions()).as("begin does nothing but answer").isEmpty();
    carried.addAll(earlier); // handed out by the next take()
    return id;
  }

  /** Begins a transaction and enlists {@code names}. */
  String beginWith(String... names) {
    String id = begin();
    for (String n : names) assertThat(enlist(id, n).isRejection()).isFalse();
    return id;
  }

  Answer enlist(String id, String name) {
    return core.enlist(id, name, url(name), now);
  }

  long nextRequestId() {
    return ++requestIds;
  }

  /** A commit request; returns the immediate answer or null when parked. */
  Answer commit(String id) {
    return core.commit(id, nextRequestId(), false, now);
  }

  Answer rollback(String id) {
    return core.rollback(id, nextRequestId(), now);
  }

  void vote(String id, String name, Vote vote) {
    core.voteReceived(id, name, vote, vote == null ? "connection refused" : null, now);
  }

  void advance(long ms) {
    now += ms;
    core.tick(now);
  }

  List<Action> take() {
    List<Action> out = new ArrayList<>(carried);
    carried.clear();
    out.addAll(core.takeActions());
    return out;
  }

  TxView view(String id) {
    Answer a = core.status(id);
    assertThat(a.view()).as("status of %s is a view, not %s", id, a.errorCode()).isNotNull();
    return a.view();
  }

  /**
   * A transaction of {@code names} that all voted PREPARED and whose COMMIT is durable: phase 2
   * under way, the commit sends already taken.
   */
  String committing(String... names) {
    String id = beginWith(names);
    assertThat(commit(id)).isNull();
    take();
    for (String n : names) vote(id, n, Vote.PREPARED);
    assertThat(of(take(), AppendCommit.class)).hasSize(1);
    core.commitDurable(id, now);
    take();
    return id;
  }

  // ---------------------------------------------------------------- reading actions

  static <T extends Action> List<T> of(List<Action> actions, Class<T> type) {
    List<T> out = new ArrayList<>();
    for (Action a : actions) if (type.isInstance(a)) out.add(type.cast(a));
    return out;
  }

  static List<Send> sends(List<Action> actions, Send.Kind kind) {
    List<Send> out = new ArrayList<>();
    for (Send s : of(actions, Send.class)) if (s.kind() == kind) out.add(s);
    return out;
  }

  static List<String> sentTo(List<Action> actions, Send.Kind kind) {
    List<String> out = new ArrayList<>();
    for (Send s : sends(actions, kind)) out.add(s.participant());
    return out;
  }

  static Reply reply(List<Action> actions, long requestId) {
    for (Reply r : of(actions, Reply.class)) if (r.requestId() == requestId) return r;
    return null;
  }
}

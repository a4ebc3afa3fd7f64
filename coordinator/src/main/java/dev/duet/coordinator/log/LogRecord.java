package dev.duet.coordinator.log;

import dev.duet.wire.Check;
import dev.duet.wire.TxIds;
import java.util.List;

/**
 * What the decision log holds. Only two kinds: presumed abort means aborts are never written, and a
 * COMMIT carries everything phase 2 needs, so recovery needs nothing but the log.
 */
public sealed interface LogRecord {

  String txId();

  /** COMMIT was decided for {@code txId}; phase 2 must reach every participant listed. */
  record Commit(String txId, long decidedAtMs, List<Participant> participants) implements LogRecord {
    public Commit {
      Check.that(TxIds.isValid(txId), "a COMMIT record has a valid transaction id");
      Check.that(participants != null && !participants.isEmpty(), "a COMMIT record names its participants");
      participants = List.copyOf(participants);
    }
  }

  /** Every participant acknowledged the COMMIT of {@code txId}: the log may forget it. */
  record End(String txId) implements LogRecord {
    public End {
      Check.that(TxIds.isValid(txId), "an END record has a valid transaction id");
    }
  }

  /** A prepared participant of a committed transaction: its name and the URL it enlisted with. */
  record Participant(String name, String url) {
    public Participant {
      Check.that(name != null && !name.isEmpty(), "participant name");
      Check.that(url != null && !url.isEmpty(), "participant url");
    }
  }
}

package dev.duet.benchmark;

/**
 * One system under test: moves money from an account in bank A to an account in bank B, atomically if it can.
 *
 * <p>The harness calls {@link #setUp} once, then {@link #transfer} from many threads at once (a closed loop, one
 * call at a time per thread), then {@link #tearDown} once. Implementations must be safe for concurrent calls.
 */
public interface TransferSystem {

    /** Short name used on the command line and in the report, e.g. "atomikos". */
    String name();

    /**
     * What this system writes durably per transfer and how often it forces it to disk, in one or two sentences,
     * with where that statement comes from. Printed beside the results.
     */
    String logDescription();

    /** Connects to both banks and starts whatever the system needs (logs, pools, processes). */
    void setUp(DatabasePair dbs) throws Exception;

    /**
     * Debits {@code amount} from account {@code fromId} in bank A and credits it to {@code toId} in bank B.
     *
     * @return true when the transfer committed; false when it was refused (insufficient funds) or aborted and
     *     nothing moved
     * @throws Exception when the outcome is a failure; the harness counts it, and the money checks later show
     *     whether anything moved anyway
     */
    boolean transfer(long fromId, long toId, long amount) throws Exception;

    /**
     * The money checks while the system is up and idle. The default reads both databases directly; a system whose
     * own processes hold the database files (Duet's banks on H2) asks those processes instead. After
     * {@link #tearDown} the harness reads the databases directly in any case.
     */
    default DatabasePair.CheckResult check(DatabasePair dbs, long committedAmount) throws Exception {
        return dbs.check(committedAmount);
    }

    /** Stops everything {@link #setUp} started. Called once, also after a failed run. */
    void tearDown() throws Exception;
}

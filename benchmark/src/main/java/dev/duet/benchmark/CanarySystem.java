package dev.duet.benchmark;

import java.sql.Connection;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import javax.sql.XAConnection;
import javax.transaction.xa.XAResource;
import javax.transaction.xa.Xid;

/**
 * Not a system to measure: a deliberately broken one that proves the checks can fail. Like the baseline, except that
 * every {@link #BREAK_EVERY}-th transfer commits the debit in bank A, leaves the credit in bank B <em>prepared</em>
 * (XA PREPARE, never finished) and still reports success. A cell of it must come out FAILED: money gone from the
 * total, bank B short of the committed amount, and prepared transactions left behind.
 */
public final class CanarySystem implements TransferSystem {

    static final int BREAK_EVERY = 50;
    /** Prepared branches kept open at most; past it the canary stops breaking things (it has made its point). */
    static final int LEFT_PREPARED_MAX = 32;

    private final BaselineSystem baseline;
    private final AtomicLong calls = new AtomicLong();
    /** Reserved accounts handed out so far. */
    private final AtomicLong reserved = new AtomicLong();
    private final Queue<XAConnection> leftPrepared = new ConcurrentLinkedQueue<>();
    private DatabasePair dbs;

    public CanarySystem(int concurrency) {
        this.baseline = new BaselineSystem(concurrency);
    }

    @Override
    public String name() {
        return "canary";
    }

    @Override
    public String logDescription() {
        return "Check canary, not measured: the baseline, but every " + BREAK_EVERY + "th transfer leaves its credit"
                + " prepared and never committed while reporting success. Its cells must fail their checks.";
    }

    @Override
    public void setUp(DatabasePair dbs) throws Exception {
        this.dbs = dbs;
        baseline.setUp(dbs);
    }

    @Override
    public boolean transfer(long fromId, long toId, long amount) throws Exception {
        long n = calls.incrementAndGet();
        // Accounts 1..LEFT_PREPARED_MAX of bank B are reserved for the branches left prepared, which keep their row
        // locks: other transfers credit elsewhere, so nothing waits on those locks (PostgreSQL would wait forever).
        long creditId = toId <= LEFT_PREPARED_MAX ? toId + LEFT_PREPARED_MAX : toId;
        if (n % BREAK_EVERY != 0 || reserved.get() >= LEFT_PREPARED_MAX) {
            return baseline.transfer(fromId, creditId, amount);
        }
        toId = reserved.incrementAndGet(); // each reserved account is locked by one prepared branch at most
        if (toId > LEFT_PREPARED_MAX) {
            return baseline.transfer(fromId, creditId, amount);
        }
        try (Connection a = dbs.dataSource(Bank.A).getConnection()) {
            if (!Workload.debit(a, fromId, amount)) {
                return false; // autocommit: nothing moved
            }
        }
        XAConnection xb = dbs.xaDataSource(Bank.B).getXAConnection();
        leftPrepared.add(xb);
        XAResource rb = xb.getXAResource();
        Xid xid = BenchXid.of(0xCA7A, "canary-" + n, "b");
        rb.start(xid, XAResource.TMNOFLAGS);
        Workload.credit(xb.getConnection(), toId, amount);
        rb.end(xid, XAResource.TMSUCCESS);
        rb.prepare(xid);
        return true; // a lie: the credit is only prepared
    }

    @Override
    public void tearDown() throws Exception {
        baseline.tearDown();
        for (XAConnection x; (x = leftPrepared.poll()) != null; ) {
            try {
                x.close();
            } catch (Exception ignored) {
                // The prepared branch outlives its connection; that is the point.
            }
        }
    }
}

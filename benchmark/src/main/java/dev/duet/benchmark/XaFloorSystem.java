package dev.duet.benchmark;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;
import javax.transaction.xa.XAException;
import javax.transaction.xa.XAResource;
import javax.transaction.xa.Xid;

/**
 * The floor under every XA transaction manager, not a valid way to move money: both branches' XA calls
 * (start, update, end, prepare, commit) straight from the client's thread, with no transaction manager and
 * no log at all. A crash after the first commit loses nothing here only by luck: nobody would know to
 * commit the second branch. Whatever a manager adds (its log, its calls, Duet's HTTP hops) comes on top of
 * this, so this cell says how fast any XA-based system can be on these databases and this machine.
 */
public final class XaFloorSystem implements TransferSystem {

    private static final int FORMAT_ID = 0x58414631; // "XAF1"
    private static final byte[] BRANCH_A = {'a'};
    private static final byte[] BRANCH_B = {'b'};

    private final int concurrency;
    private final AtomicLong next = new AtomicLong();
    private final String run = Long.toString(System.nanoTime(), 36);
    private PerThread<XaPair> connections;

    public XaFloorSystem(int concurrency) {
        this.concurrency = concurrency;
    }

    @Override
    public String name() {
        return "xa-floor";
    }

    @Override
    public String logDescription() {
        return "No transaction manager, no log: each branch's XA start/end/prepare/commit called directly"
                + " (each database's PREPARE and COMMIT flushes only). Not recoverable: the lower bound of"
                + " any XA transaction manager's cost here.";
    }

    @Override
    public void setUp(DatabasePair dbs) {
        connections = new PerThread<>(concurrency, () -> XaPair.open(dbs));
    }

    @Override
    public boolean transfer(long fromId, long toId, long amount) throws Exception {
        XaPair p = connections.get();
        byte[] global = (run + "-" + next.incrementAndGet()).getBytes(StandardCharsets.US_ASCII);
        Xid xidA = new BenchXid(FORMAT_ID, global, BRANCH_A);
        Xid xidB = new BenchXid(FORMAT_ID, global, BRANCH_B);
        p.ra().start(xidA, XAResource.TMNOFLAGS);
        p.rb().start(xidB, XAResource.TMNOFLAGS);
        boolean moved = false;
        try {
            moved = Workload.debit(p.a(), fromId, amount) && Workload.credit(p.b(), toId, amount);
        } finally {
            p.ra().end(xidA, moved ? XAResource.TMSUCCESS : XAResource.TMFAIL);
            p.rb().end(xidB, moved ? XAResource.TMSUCCESS : XAResource.TMFAIL);
            if (!moved) {
                rollbackQuietly(p.ra(), xidA);
                rollbackQuietly(p.rb(), xidB);
            }
        }
        if (!moved) return false;
        boolean preparedA = p.ra().prepare(xidA) == XAResource.XA_OK;
        boolean preparedB = p.rb().prepare(xidB) == XAResource.XA_OK;
        if (preparedA) p.ra().commit(xidA, false);
        if (preparedB) p.rb().commit(xidB, false);
        return true;
    }

    private static void rollbackQuietly(XAResource r, Xid xid) {
        try {
            r.rollback(xid);
        } catch (XAException ignored) {
            // The branch did nothing that stays: an ended, failed branch is rolled back by the database.
        }
    }

    @Override
    public void tearDown() {
        if (connections != null) {
            connections.close();
        }
    }
}

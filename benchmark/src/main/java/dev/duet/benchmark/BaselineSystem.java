package dev.duet.benchmark;

import java.sql.Connection;

/**
 * The ceiling, not a valid way to move money: a local transaction in each bank, committed one after the other. A
 * crash between the two commits loses the money (A committed the debit, B never commits the credit).
 */
public final class BaselineSystem implements TransferSystem {

    private record Pair(Connection a, Connection b) implements AutoCloseable {
        @Override
        public void close() throws Exception {
            try (a; b) {
                // closes both, even if one throws
            }
        }
    }

    private final int concurrency;
    private PerThread<Pair> connections;

    public BaselineSystem(int concurrency) {
        this.concurrency = concurrency;
    }

    @Override
    public String name() {
        return "baseline";
    }

    @Override
    public String logDescription() {
        return "No coordinator log. Two local commits, one per database, so the databases' own commit flushes only "
                + "(PostgreSQL: 1 WAL flush per commit, 2 per transfer). Not atomic.";
    }

    @Override
    public void setUp(DatabasePair dbs) {
        connections = new PerThread<>(concurrency, () -> {
            Connection a = dbs.dataSource(Bank.A).getConnection();
            Connection b = dbs.dataSource(Bank.B).getConnection();
            a.setAutoCommit(false);
            b.setAutoCommit(false);
            return new Pair(a, b);
        });
    }

    @Override
    public boolean transfer(long fromId, long toId, long amount) throws Exception {
        Pair p = connections.get();
        try {
            if (!Workload.debit(p.a(), fromId, amount) || !Workload.credit(p.b(), toId, amount)) {
                p.a().rollback();
                p.b().rollback();
                return false;
            }
            p.a().commit();
            p.b().commit();
            return true;
        } catch (Exception e) {
            rollbackQuietly(p.a());
            rollbackQuietly(p.b());
            throw e;
        }
    }

    private static void rollbackQuietly(Connection con) {
        try {
            con.rollback();
        } catch (Exception ignored) {
            // The failure being reported is the original one.
        }
    }

    @Override
    public void tearDown() {
        if (connections != null) {
            connections.close();
        }
    }
}

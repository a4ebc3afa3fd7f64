package dev.duet.benchmark;

import com.atomikos.icatch.jta.UserTransactionManager;
import com.atomikos.jdbc.AtomikosDataSourceBean;
import jakarta.transaction.RollbackException;
import jakarta.transaction.Status;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;

/**
 * Atomikos TransactionsEssentials 6 in this JVM: its UserTransactionManager over one AtomikosDataSourceBean per
 * bank, with Atomikos' default durable file log ("tmlog") in the cell's directory.
 *
 * <p>Atomikos reads its configuration once per JVM from system properties; that is one more reason each cell runs
 * in a fresh JVM.
 */
public final class AtomikosSystem implements TransferSystem {

    private final int concurrency;
    private UserTransactionManager utm;
    private AtomikosDataSourceBean dsA;
    private AtomikosDataSourceBean dsB;

    public AtomikosSystem(int concurrency) {
        this.concurrency = concurrency;
    }

    @Override
    public String name() {
        return "atomikos";
    }

    @Override
    public String logDescription() {
        return "File log tmlog-N.log, append-only text records. Every record write is followed by"
                + " FileChannel.force(false) (com.atomikos.recovery.fs.FileSystemRepository.writeToFile in"
                + " transactions-6.0.0.jar); a 2PC transfer writes COMMITTING before phase 2 and TERMINATED after it,"
                + " so 2 log forces per transfer, plus each database's PREPARE and COMMIT flushes.";
    }

    @Override
    public void setUp(DatabasePair dbs) throws Exception {
        Path logDir = Files.createDirectories(dbs.workDir().resolve("atomikos-log"));
        // Defaults (enable_logging=true, checkpoint_interval=500, ...) stay as shipped; only locations and names
        // are set, and max_actives is raised above the largest concurrency so it can never be the bottleneck.
        System.setProperty("com.atomikos.icatch.log_base_dir", logDir.toAbsolutePath() + "/");
        System.setProperty("com.atomikos.icatch.output_dir", logDir.toAbsolutePath() + "/");
        System.setProperty("com.atomikos.icatch.tm_unique_name", "bench-atomikos");
        System.setProperty("com.atomikos.icatch.max_actives", Integer.toString(Math.max(50, 2 * concurrency)));
        utm = new UserTransactionManager();
        utm.setForceShutdown(true);
        utm.init();
        dsA = dataSource(dbs, Bank.A);
        dsB = dataSource(dbs, Bank.B);
    }

    private AtomikosDataSourceBean dataSource(DatabasePair dbs, Bank bank) throws Exception {
        AtomikosDataSourceBean ds = new AtomikosDataSourceBean();
        ds.setUniqueResourceName(bank.lowerName());
        ds.setXaDataSource(dbs.xaDataSource(bank));
        // One connection per worker thread, opened up front: the pool must never be what the measurement waits on.
        ds.setMinPoolSize(concurrency);
        ds.setMaxPoolSize(concurrency);
        ds.setBorrowConnectionTimeout(30);
        ds.init();
        return ds;
    }

    @Override
    public boolean transfer(long fromId, long toId, long amount) throws Exception {
        utm.begin();
        try {
            boolean moved;
            try (Connection a = dsA.getConnection();
                    Connection b = dsB.getConnection()) {
                moved = Workload.debit(a, fromId, amount) && Workload.credit(b, toId, amount);
            }
            if (!moved) {
                utm.rollback();
                return false;
            }
            utm.commit();
            return true;
        } catch (RollbackException e) {
            return false; // commit() rolled back every branch: an abort, nothing moved
        } catch (Exception e) {
            if (utm.getStatus() != Status.STATUS_NO_TRANSACTION) {
                try {
                    utm.rollback();
                } catch (Exception ignored) {
                    // The failure being reported is the original one.
                }
            }
            throw e;
        }
    }

    @Override
    public void tearDown() {
        if (dsA != null) {
            dsA.close();
        }
        if (dsB != null) {
            dsB.close();
        }
        if (utm != null) {
            utm.close();
        }
    }
}

package dev.duet.benchmark;

import com.arjuna.ats.arjuna.common.ObjectStoreEnvironmentBean;
import com.arjuna.ats.arjuna.common.arjPropertyManager;
import com.arjuna.common.internal.util.propertyservice.BeanPopulator;
import jakarta.transaction.RollbackException;
import jakarta.transaction.Status;
import jakarta.transaction.Transaction;
import jakarta.transaction.TransactionManager;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Narayana JTA 7 in this JVM: its arjunacore TransactionManager, with both banks' XAResources enlisted explicitly in
 * every transaction, and Narayana's default object store (ShadowNoFileLockStore, synced writes) in the cell's
 * directory. XA connections come from a per-thread pool of this harness, not from a Narayana pool.
 *
 * <p>No RecoveryManager is started (Narayana runs recovery only when asked; Atomikos runs it in-process by default).
 */
public final class NarayanaSystem implements TransferSystem {

    private final int concurrency;
    private TransactionManager tm;
    private PerThread<XaPair> connections;

    public NarayanaSystem(int concurrency) {
        this.concurrency = concurrency;
    }

    @Override
    public String name() {
        return "narayana";
    }

    @Override
    public String logDescription() {
        return "Object store ShadowNoFileLockStore (default), one file per transaction:"
                + " after both branches voted PREPARED the transaction record is written to a shadow file,"
                + " fsynced (transactionSync=true by default) and renamed; after phase 2 the file is deleted"
                + " (no sync). So 1 log fsync per transfer, plus each database's PREPARE and COMMIT flushes.";
    }

    @Override
    public void setUp(DatabasePair dbs) throws Exception {
        Path store = Files.createDirectories(dbs.workDir().resolve("narayana-store")).toAbsolutePath();
        // Must happen before the first use of any Narayana class that reads its configuration.
        for (String name : new String[] {null, "communicationStore", "stateStore"}) {
            ObjectStoreEnvironmentBean bean = name == null
                    ? BeanPopulator.getDefaultInstance(ObjectStoreEnvironmentBean.class)
                    : BeanPopulator.getNamedInstance(ObjectStoreEnvironmentBean.class, name);
            bean.setObjectStoreDir(store.toString());
        }
        arjPropertyManager.getCoreEnvironmentBean().setNodeIdentifier("bench-narayana");
        tm = com.arjuna.ats.jta.TransactionManager.transactionManager();
        connections = new PerThread<>(concurrency, () -> XaPair.open(dbs));
    }

    @Override
    public boolean transfer(long fromId, long toId, long amount) throws Exception {
        XaPair p = connections.get();
        tm.begin();
        try {
            Transaction tx = tm.getTransaction();
            if (!tx.enlistResource(p.ra()) || !tx.enlistResource(p.rb())) {
                throw new IllegalStateException("Narayana refused to enlist a bank's XAResource");
            }
            if (!Workload.debit(p.a(), fromId, amount) || !Workload.credit(p.b(), toId, amount)) {
                tm.rollback();
                return false;
            }
            tm.commit();
            return true;
        } catch (RollbackException e) {
            return false; // commit() rolled back every branch: an abort, nothing moved
        } catch (Exception e) {
            if (tm.getStatus() != Status.STATUS_NO_TRANSACTION) {
                try {
                    tm.rollback();
                } catch (Exception ignored) {
                    // The failure being reported is the original one.
                }
            }
            throw e;
        }
    }

    @Override
    public void tearDown() {
        if (connections != null) {
            connections.close();
        }
        if (tm != null) {
            // Removes the transaction status manager's record now, while the store still exists; left to
            // Narayana's shutdown hook it would recreate the store after the cell deleted its directory.
            com.arjuna.ats.arjuna.coordinator.TxControl.disable(true);
        }
    }
}

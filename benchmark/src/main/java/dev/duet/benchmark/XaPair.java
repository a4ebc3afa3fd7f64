package dev.duet.benchmark;

import java.sql.Connection;
import javax.sql.XAConnection;
import javax.transaction.xa.XAResource;

/** One thread's XA connections to both banks, for the systems that drive XA themselves. */
record XaPair(XAConnection xa, XAConnection xb, Connection a, Connection b, XAResource ra,
        XAResource rb) implements AutoCloseable {
    static XaPair open(DatabasePair dbs) throws Exception {
        XAConnection xa = dbs.xaDataSource(Bank.A).getXAConnection();
        XAConnection xb = dbs.xaDataSource(Bank.B).getXAConnection();
        return new XaPair(xa, xb, xa.getConnection(), xb.getConnection(), xa.getXAResource(),
                xb.getXAResource());
    }

    @Override
    public void close() throws Exception {
        try {
            a.close();
            b.close();
        } finally {
            xa.close();
            xb.close();
        }
    }
}

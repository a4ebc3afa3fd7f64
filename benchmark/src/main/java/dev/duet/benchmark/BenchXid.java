package dev.duet.benchmark;

import java.nio.charset.StandardCharsets;
import javax.transaction.xa.Xid;

/** An Xid for the systems that drive XA themselves (the XA floor, the check canary). */
record BenchXid(int formatId, byte[] global, byte[] branch) implements Xid {

    static BenchXid of(int formatId, String global, String branch) {
        return new BenchXid(formatId, global.getBytes(StandardCharsets.US_ASCII), branch.getBytes(StandardCharsets.US_ASCII));
    }

    @Override
    public int getFormatId() {
        return formatId;
    }

    @Override
    public byte[] getGlobalTransactionId() {
        return global;
    }

    @Override
    public byte[] getBranchQualifier() {
        return branch;
    }
}

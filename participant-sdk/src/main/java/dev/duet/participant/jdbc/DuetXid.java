package dev.duet.participant.jdbc;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import javax.transaction.xa.Xid;

/**
 * The XA id of a branch: a fixed format id, the transaction id as global transaction id and the
 * participant name as branch qualifier. Recovery recognises its own branches by format id and
 * qualifier, and reads the transaction id back from the global id.
 */
final class DuetXid implements Xid {
  /** "DUET" in ASCII. */
  static final int FORMAT_ID = 0x44554554;

  private final byte[] gtrid;
  private final byte[] bqual;

  DuetXid(String txId, byte[] bqual) {
    this.gtrid = txId.getBytes(StandardCharsets.US_ASCII);
    this.bqual = bqual;
  }

  /** The transaction id if {@code xid} is a branch of participant {@code bqual}, else null. */
  static String txIdOf(Xid xid, byte[] bqual) {
    if (xid == null || xid.getFormatId() != FORMAT_ID || !Arrays.equals(xid.getBranchQualifier(), bqual)) return null;
    return new String(xid.getGlobalTransactionId(), StandardCharsets.US_ASCII);
  }

  @Override
  public int getFormatId() {
    return FORMAT_ID;
  }

  @Override
  public byte[] getGlobalTransactionId() {
    return gtrid.clone();
  }

  @Override
  public byte[] getBranchQualifier() {
    return bqual.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Xid x && x.getFormatId() == FORMAT_ID && Arrays.equals(x.getGlobalTransactionId(), gtrid)
        && Arrays.equals(x.getBranchQualifier(), bqual);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(gtrid) * 31 + Arrays.hashCode(bqual);
  }

  @Override
  public String toString() {
    return "Xid(" + new String(gtrid, StandardCharsets.US_ASCII) + "/" + new String(bqual, StandardCharsets.UTF_8) + ")";
  }
}

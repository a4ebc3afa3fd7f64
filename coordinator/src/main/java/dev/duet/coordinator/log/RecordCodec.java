package dev.duet.coordinator.log;

import dev.duet.wire.Check;
import dev.duet.wire.TxIds;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * The byte format of one record (big-endian):
 *
 * <pre>
 *   u32 length      bytes of payload
 *   u32 crc32c      over the 4 length bytes and the payload
 *   payload:
 *     u8  type      1 = COMMIT, 2 = END
 *     26  txId      ASCII
 *     COMMIT only:  i64 decidedAtMs, u16 count, count × (u16 len, name UTF-8, u16 len, url UTF-8)
 * </pre>
 *
 * The CRC covers the length too, so a damaged length is caught instead of sending the reader off
 * into the middle of another record.
 */
final class RecordCodec {
  private RecordCodec() {}

  static final int FRAME_HEADER_BYTES = 8;
  /** 16 participants with 64-byte names and 2048-character URLs fit with room to spare. */
  static final int PAYLOAD_BYTES_MAX = 256 * 1024;

  private static final byte COMMIT = 1;
  private static final byte END = 2;

  /** Appends the framed record to {@code out} (which must have room) and returns its size. */
  static int encode(LogRecord record, ByteBuffer out) {
    int start = out.position();
    out.position(start + FRAME_HEADER_BYTES);
    int payloadStart = out.position();
    if (record instanceof LogRecord.Commit c) {
      out.put(COMMIT);
      putTxId(out, c.txId());
      out.putLong(c.decidedAtMs());
      Check.that(c.participants().size() <= 0xFFFF, "participant count fits u16");
      out.putShort((short) c.participants().size());
      for (LogRecord.Participant p : c.participants()) {
        putString(out, p.name());
        putString(out, p.url());
      }
    } else {
      out.put(END);
      putTxId(out, record.txId());
    }
    int length = out.position() - payloadStart;
    Check.that(length > 0 && length <= PAYLOAD_BYTES_MAX, "record payload within PAYLOAD_BYTES_MAX");
    out.putInt(start, length);
    out.putInt(start + 4, crc(out, start, length));
    return FRAME_HEADER_BYTES + length;
  }

  /** Upper bound of the framed size of {@code record}, to size buffers before encoding. */
  static int sizeBound(LogRecord record) {
    int size = FRAME_HEADER_BYTES + 1 + TxIds.LENGTH;
    if (record instanceof LogRecord.Commit c) {
      size += 8 + 2;
      for (LogRecord.Participant p : c.participants()) {
        size += 2 + p.name().length() * 3 + 2 + p.url().length() * 3; // UTF-8: at most 3 bytes a char
      }
    }
    return size;
  }

  /** One record read back, or why the bytes at this position are not a record. */
  record Decoded(LogRecord record, int frameBytes, String error) {
    boolean ok() {
      return record != null;
    }
  }

  /**
   * Reads the record at {@code in}'s position without moving it. A short frame, a bad length, a
   * CRC mismatch or a payload that does not parse all come back as an error, never an exception.
   */
  static Decoded decode(ByteBuffer in) {
    int start = in.position();
    int available = in.limit() - start;
    if (available < FRAME_HEADER_BYTES) return bad("short frame header (" + available + " bytes)");
    int length = in.getInt(start);
    if (length <= 0 || length > PAYLOAD_BYTES_MAX) return bad("record length " + length + " out of range");
    if (available - FRAME_HEADER_BYTES < length) return bad("short record (" + (available - FRAME_HEADER_BYTES) + " of " + length + " bytes)");
    int storedCrc = in.getInt(start + 4);
    if (crc(in, start, length) != storedCrc) return bad("CRC mismatch");
    ByteBuffer p = in.duplicate();
    p.position(start + FRAME_HEADER_BYTES).limit(start + FRAME_HEADER_BYTES + length);
    try {
      LogRecord record = parsePayload(p);
      if (p.hasRemaining()) return bad(p.remaining() + " trailing bytes in record");
      return new Decoded(record, FRAME_HEADER_BYTES + length, null);
    } catch (RuntimeException e) {
      // A record with a valid CRC that does not parse was written by a broken writer: still corrupt.
      return bad("unparseable record: " + e.getMessage());
    }
  }

  private static LogRecord parsePayload(ByteBuffer p) {
    byte type = p.get();
    String txId = getTxId(p);
    return switch (type) {
      case COMMIT -> {
        long decidedAt = p.getLong();
        int n = Short.toUnsignedInt(p.getShort());
        List<LogRecord.Participant> ps = new ArrayList<>(n);
        for (int i = 0; i < n; i++) ps.add(new LogRecord.Participant(getString(p), getString(p)));
        yield new LogRecord.Commit(txId, decidedAt, ps);
      }
      case END -> new LogRecord.End(txId);
      default -> throw new IllegalArgumentException("unknown record type " + type);
    };
  }

  private static Decoded bad(String error) {
    return new Decoded(null, 0, error);
  }

  private static int crc(ByteBuffer buf, int frameStart, int payloadLength) {
    CRC32C crc = new CRC32C();
    ByteBuffer lengthBytes = buf.duplicate();
    lengthBytes.position(frameStart).limit(frameStart + 4);
    crc.update(lengthBytes);
    ByteBuffer payload = buf.duplicate();
    payload.position(frameStart + FRAME_HEADER_BYTES).limit(frameStart + FRAME_HEADER_BYTES + payloadLength);
    crc.update(payload);
    return (int) crc.getValue();
  }

  private static void putTxId(ByteBuffer out, String txId) {
    Check.that(TxIds.isValid(txId), "valid txId in record");
    out.put(txId.getBytes(StandardCharsets.US_ASCII));
  }

  private static String getTxId(ByteBuffer in) {
    byte[] b = new byte[TxIds.LENGTH];
    in.get(b);
    String id = new String(b, StandardCharsets.US_ASCII);
    if (!TxIds.isValid(id)) throw new IllegalArgumentException("invalid txId");
    return id;
  }

  private static void putString(ByteBuffer out, String s) {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    Check.that(b.length <= 0xFFFF, "string fits u16 length");
    out.putShort((short) b.length);
    out.put(b);
  }

  private static String getString(ByteBuffer in) {
    int len = Short.toUnsignedInt(in.getShort());
    byte[] b = new byte[len];
    in.get(b);
    return new String(b, StandardCharsets.UTF_8);
  }
}

package dev.duet.coordinator.log;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;

/**
 * Reads every segment at start-up and rebuilds the COMMITs that have no END. The last segment may
 * end in a torn record (the crash hit a write that was never acknowledged): it is cut off there. A
 * bad record anywhere else — in an earlier segment, or followed by a good record — was once
 * acknowledged, and start-up refuses with the file and offset.
 */
final class Replay {
  private Replay() {}

  /**
   * @param unfinished COMMITs without END, in log order
   * @param lastSegment the segment appends continue in, or null if there is none yet
   * @param lastValidEnd byte offset after the last good record of {@code lastSegment}
   * @param tornBytes bytes after {@code lastValidEnd} to cut off (0 if the tail was clean)
   */
  record Result(LogState state, Path lastSegment, long lastSeq, long lastValidEnd, long tornBytes,
      int segments, long records) {
    Map<String, LogRecord.Commit> unfinished() {
      return state.unfinished;
    }
  }

  static Result run(Path dir, LogConfig config) throws IOException {
    List<Path> segments = Segments.list(dir);
    long now = System.currentTimeMillis();
    LogState state = new LogState(config.endedRetainedMax(), config.endedRetainMs());
    long records = 0;
    Path last = null;
    long lastSeq = 0, lastValidEnd = 0, torn = 0;
    for (int i = 0; i < segments.size(); i++) {
      Path file = segments.get(i);
      boolean isLast = i == segments.size() - 1;
      long seq = Segments.seqOf(file);
      try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
        long size = ch.size();
        if (size > Integer.MAX_VALUE) throw new LogCorruptedException(file, 0, "segment larger than 2 GiB");
        ByteBuffer data = ByteBuffer.allocate((int) size);
        while (data.hasRemaining() && ch.read(data) >= 0) {}
        data.flip();
        if (isLast && size < Segments.HEADER_BYTES) {
          // Crashed while creating it: nothing in it was ever acknowledged. Rewritten at open.
          last = file;
          lastSeq = seq;
          lastValidEnd = 0;
          torn = size;
          break;
        }
        String headerError = Segments.checkHeader(data, seq);
        if (headerError != null) throw new LogCorruptedException(file, 0, headerError);
        int pos = Segments.HEADER_BYTES;
        while (pos < data.limit()) {
          data.position(pos);
          RecordCodec.Decoded d = RecordCodec.decode(data);
          if (!d.ok()) {
            if (!isLast) throw new LogCorruptedException(file, pos, d.error() + " in a completed segment");
            int later = firstGoodRecordAfter(data, pos + 1);
            if (later >= 0) {
              throw new LogCorruptedException(file, pos, d.error() + ", but a good record follows at offset " + later);
            }
            torn = data.limit() - pos;
            break;
          }
          state.apply(d.record(), now);
          records++;
          pos += d.frameBytes();
        }
        if (isLast) {
          last = file;
          lastSeq = seq;
          lastValidEnd = pos;
        }
      }
    }
    return new Result(state, last, lastSeq, lastValidEnd, torn, segments.size(), records);
  }

  /** Offset of the first decodable record at or after {@code from}, or -1. */
  private static int firstGoodRecordAfter(ByteBuffer data, int from) {
    for (int p = from; p + RecordCodec.FRAME_HEADER_BYTES < data.limit(); p++) {
      byte type = data.get(p + RecordCodec.FRAME_HEADER_BYTES);
      if (type != 1 && type != 2) continue; // cheap filter before the CRC
      data.position(p);
      if (RecordCodec.decode(data).ok()) return p;
    }
    return -1;
  }
}

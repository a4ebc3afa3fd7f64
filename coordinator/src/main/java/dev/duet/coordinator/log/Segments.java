package dev.duet.coordinator.log;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Segment files: {@code segment-<16-digit sequence>.log}, each starting with a 16-byte header (8
 * bytes magic {@code DUETLOG1}, u64 sequence) followed by records. Sequences only grow.
 */
final class Segments {
  private Segments() {}

  static final int HEADER_BYTES = 16;
  private static final byte[] MAGIC = "DUETLOG1".getBytes(StandardCharsets.US_ASCII);
  private static final Pattern NAME = Pattern.compile("segment-(\\d{16})\\.log");

  static Path path(Path dir, long seq) {
    return dir.resolve(String.format("segment-%016d.log", seq));
  }

  /** The segment files in {@code dir}, oldest first. Other files are left alone. */
  static List<Path> list(Path dir) throws IOException {
    List<Path> out = new ArrayList<>();
    try (Stream<Path> files = Files.list(dir)) {
      files.filter(p -> NAME.matcher(p.getFileName().toString()).matches()).sorted().forEach(out::add);
    }
    return out;
  }

  static long seqOf(Path segment) {
    Matcher m = NAME.matcher(segment.getFileName().toString());
    if (!m.matches()) throw new IllegalArgumentException("not a segment: " + segment);
    return Long.parseLong(m.group(1));
  }

  static ByteBuffer header(long seq) {
    ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES);
    b.put(MAGIC).putLong(seq).flip();
    return b;
  }

  /** Why the header at the start of {@code data} is not that of segment {@code seq}, or null. */
  static String checkHeader(ByteBuffer data, long seq) {
    if (data.limit() < HEADER_BYTES) return "segment header is short (" + data.limit() + " bytes)";
    for (int i = 0; i < MAGIC.length; i++) {
      if (data.get(i) != MAGIC[i]) return "not a decision log segment (bad magic)";
    }
    long stored = data.getLong(MAGIC.length);
    if (stored != seq) return "segment header says sequence " + stored + ", file name says " + seq;
    return null;
  }

  /** Creates segment {@code seq} with its header, durable together with its directory entry. */
  static FileChannel create(Path dir, long seq, boolean fsync) throws IOException {
    FileChannel ch = FileChannel.open(path(dir, seq), StandardOpenOption.CREATE_NEW,
        StandardOpenOption.WRITE, StandardOpenOption.READ);
    writeFully(ch, header(seq));
    if (fsync) {
      ch.force(true);
      syncDirectory(dir);
    }
    return ch;
  }

  static void writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
    while (buf.hasRemaining()) ch.write(buf);
  }

  /** Makes file creations and deletions in {@code dir} durable (POSIX needs the directory synced). */
  static void syncDirectory(Path dir) throws IOException {
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    } catch (IOException e) {
      // Some platforms (Windows) cannot open a directory; Linux and macOS can.
      if (!System.getProperty("os.name", "").toLowerCase().startsWith("windows")) throw e;
    }
  }
}

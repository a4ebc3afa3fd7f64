package dev.duet.coordinator.log;

import java.nio.file.Path;

/**
 * A record that was once acknowledged is unreadable: a bad record before the tail of the log, or in
 * a segment that was complete. Start-up stops; the file is never silently skipped or truncated.
 */
public final class LogCorruptedException extends java.io.IOException {
  public LogCorruptedException(Path file, long offset, String what) {
    super("decision log is corrupt in " + file + " at byte offset " + offset + ": " + what
        + ". Refusing to start: records after this point were acknowledged and cannot be dropped."
        + " Keep the file for analysis; see docs/operations.md");
  }
}

package dev.duet.benchmark;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.nio.ByteBuffer;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.HdrHistogram.Histogram;

/**
 * One cell's outcome, printed by {@link Cell} as a single JSON line and read back by {@link Bench}. A cell whose
 * checks failed carries status {@link #CHECK_FAILED} and is never reported as a number.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record CellResult(
        String system,
        String db,
        int concurrency,
        int round,
        int warmupSeconds,
        int measureSeconds,
        String status,
        long committed,
        long aborted,
        long failures,
        long elapsedMs,
        double transfersPerSecond,
        double p50Ms,
        double p99Ms,
        double p999Ms,
        double maxMs,
        /** Committed-transfer latencies of the measured window in microseconds, HdrHistogram compressed, base64. */
        String latencyHistogram,
        List<String> checks,
        List<String> failureSamples,
        String error,
        String logDescription,
        String dbVersion,
        Map<String, String> dbSettings,
        long setupMs) {

    public static final String OK = "ok";
    public static final String CHECK_FAILED = "check-failed";
    public static final String ERROR = "error";
    /** Prefix of the one stdout line that carries the result; libraries may print other lines to stdout. */
    public static final String LINE_PREFIX = "RESULT ";

    private static final ObjectMapper JSON = new ObjectMapper().disable(SerializationFeature.INDENT_OUTPUT);

    public boolean ok() {
        return OK.equals(status);
    }

    public String toLine() {
        try {
            return LINE_PREFIX + JSON.writeValueAsString(this);
        } catch (Exception e) {
            throw new IllegalStateException("cannot serialise a cell result", e);
        }
    }

    public static CellResult fromLine(String line) {
        if (!line.startsWith(LINE_PREFIX)) {
            throw new IllegalArgumentException("not a result line: " + line);
        }
        try {
            return JSON.readValue(line.substring(LINE_PREFIX.length()), CellResult.class);
        } catch (Exception e) {
            throw new IllegalArgumentException("unreadable result line: " + line, e);
        }
    }

    /** A result for a cell that produced no numbers (crashed, timed out, could not start). */
    public static CellResult error(String system, String db, int concurrency, int round, int warmupSeconds,
            int measureSeconds, String error) {
        return new CellResult(system, db, concurrency, round, warmupSeconds, measureSeconds, ERROR, 0, 0, 0, 0, 0,
                0, 0, 0, 0, null, List.of(), List.of(), error, null, null, Map.of(), 0);
    }

    public Histogram histogram() {
        if (latencyHistogram == null) {
            return null;
        }
        try {
            return Histogram.decodeFromCompressedByteBuffer(
                    ByteBuffer.wrap(Base64.getDecoder().decode(latencyHistogram)), 0);
        } catch (Exception e) {
            throw new IllegalArgumentException("bad latency histogram in result", e);
        }
    }

    static String encode(Histogram h) {
        ByteBuffer buf = ByteBuffer.allocate(h.getNeededByteBufferCapacity());
        int length = h.encodeIntoCompressedByteBuffer(buf);
        return Base64.getEncoder().encodeToString(java.util.Arrays.copyOf(buf.array(), length));
    }
}

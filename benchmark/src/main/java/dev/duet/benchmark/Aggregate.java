package dev.duet.benchmark;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.HdrHistogram.Histogram;

/**
 * All rounds of one (system, database, concurrency) cell. A cell is a number only if every round passed its checks;
 * one failed round makes the whole cell FAILED.
 */
record Aggregate(String system, String db, int concurrency, List<CellResult> rounds) {

    static List<Aggregate> of(List<CellResult> results) {
        Map<String, List<CellResult>> byCell = new LinkedHashMap<>();
        for (CellResult r : results) {
            byCell.computeIfAbsent(r.system() + "|" + r.db() + "|" + r.concurrency(), k -> new ArrayList<>()).add(r);
        }
        List<Aggregate> out = new ArrayList<>();
        for (List<CellResult> rs : byCell.values()) {
            CellResult first = rs.get(0);
            out.add(new Aggregate(first.system(), first.db(), first.concurrency(), List.copyOf(rs)));
        }
        return out;
    }

    boolean ok() {
        return !rounds.isEmpty() && rounds.stream().allMatch(CellResult::ok);
    }

    /** Median over rounds: one disturbed round moves it less than it moves a mean. */
    double medianTransfersPerSecond() {
        List<Double> v = rounds.stream().map(CellResult::transfersPerSecond).sorted().toList();
        int n = v.size();
        return n % 2 == 1 ? v.get(n / 2) : (v.get(n / 2 - 1) + v.get(n / 2)) / 2;
    }

    /** Latencies of all rounds merged into one histogram (microseconds). */
    Histogram mergedLatencyUs() {
        Histogram merged = new Histogram(3);
        for (CellResult r : rounds) {
            Histogram h = r.histogram();
            if (h != null) {
                merged.add(h);
            }
        }
        return merged;
    }

    long failures() {
        return rounds.stream().mapToLong(CellResult::failures).sum();
    }

    long aborted() {
        return rounds.stream().mapToLong(CellResult::aborted).sum();
    }

    /** Why the cell failed, one line per failed round. */
    List<String> problems() {
        List<String> out = new ArrayList<>();
        for (CellResult r : rounds) {
            if (!r.ok()) {
                String what = r.error() != null ? r.error()
                        : String.join("; ", r.checks().stream().filter(c -> c.contains("FAILED")).toList());
                out.add("round " + r.round() + ": " + r.status() + ": " + what);
            }
        }
        return out;
    }

    static Comparator<Aggregate> order(List<String> systems, List<String> dbs) {
        return Comparator.<Aggregate>comparingInt(a -> dbs.indexOf(a.db()))
                .thenComparingInt(Aggregate::concurrency)
                .thenComparingInt(a -> systems.indexOf(a.system()));
    }
}

package dev.duet.benchmark;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A hand-written SVG line chart: committed transfers/s by concurrency, one line per system, one panel per database
 * pair. Failed cells are drawn as a red cross on the axis, never as a value.
 */
final class SvgChart {

    private static final int PANEL_WIDTH = 440;
    private static final int PANEL_HEIGHT = 320;
    private static final int MARGIN_LEFT = 70;
    private static final int MARGIN_RIGHT = 20;
    private static final int MARGIN_TOP = 40;
    private static final int MARGIN_BOTTOM = 50;
    private static final int HEADER = 50;
    private static final int LEGEND = 40;
    private static final Map<String, String> COLORS = Map.of(
            "duet", "#1f77b4", "atomikos", "#ff7f0e", "narayana", "#2ca02c", "baseline", "#7f7f7f", "xa-floor", "#d62728");
    private static final String[] FALLBACK_COLORS = {"#9467bd", "#8c564b", "#e377c2", "#17becf"};

    private SvgChart() {}

    static String render(List<Aggregate> cells, List<String> systems, List<String> dbs, List<Integer> concurrency,
            String title, String footnote) {
        int width = PANEL_WIDTH * dbs.size();
        int height = HEADER + PANEL_HEIGHT + LEGEND + 20;
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\""
                + " viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n", width, height, width, height));
        s.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", width, height));
        s.append(text(width / 2.0, 20, "middle", 15, "bold", title));
        s.append(text(width / 2.0, 38, "middle", 11, "normal", footnote));
        for (int p = 0; p < dbs.size(); p++) {
            String db = dbs.get(p);
            List<Aggregate> panel = cells.stream().filter(a -> a.db().equals(db)).toList();
            panel(s, p * PANEL_WIDTH, HEADER, db, panel, systems, concurrency);
        }
        legend(s, 0, HEADER + PANEL_HEIGHT + 10, width, systems);
        s.append("</svg>\n");
        return s.toString();
    }

    private static void panel(StringBuilder s, int x0, int y0, String db, List<Aggregate> panel,
            List<String> systems, List<Integer> concurrency) {
        double plotW = PANEL_WIDTH - MARGIN_LEFT - MARGIN_RIGHT;
        double plotH = PANEL_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM;
        double left = x0 + MARGIN_LEFT;
        double top = y0 + MARGIN_TOP;
        double bottom = top + plotH;
        double max = panel.stream().filter(Aggregate::ok).mapToDouble(Aggregate::medianTransfersPerSecond)
                .max().orElse(1);
        double yMax = niceCeiling(max * 1.1);
        s.append(text(x0 + PANEL_WIDTH / 2.0, y0 + 20, "middle", 13, "bold", dbTitle(db)));
        int ticks = 5;
        for (int i = 0; i <= ticks; i++) {
            double v = yMax * i / ticks;
            double y = bottom - plotH * i / ticks;
            s.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n",
                    left, y, left + plotW, y, i == 0 ? "#333" : "#ddd"));
            s.append(text(left - 6, y + 4, "end", 11, "normal", formatCount(v)));
        }
        s.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n",
                left, top, left, bottom));
        for (int i = 0; i < concurrency.size(); i++) {
            s.append(text(xAt(i, concurrency.size(), left, plotW), bottom + 16, "middle", 11, "normal",
                    Integer.toString(concurrency.get(i))));
        }
        s.append(text(left + plotW / 2, bottom + 36, "middle", 11, "normal", "concurrency (closed-loop clients)"));
        s.append(String.format(Locale.ROOT,
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"11\" transform=\"rotate(-90 %.1f %.1f)\">"
                        + "committed transfers/s</text>\n",
                x0 + 16.0, top + plotH / 2, x0 + 16.0, top + plotH / 2));
        for (int k = 0; k < systems.size(); k++) {
            String system = systems.get(k);
            String color = color(system, k);
            String dash = system.equals("baseline") ? " stroke-dasharray=\"6 4\"" : "";
            List<String> points = new ArrayList<>();
            StringBuilder marks = new StringBuilder();
            for (int i = 0; i < concurrency.size(); i++) {
                int c = concurrency.get(i);
                Aggregate a = panel.stream().filter(x -> x.system().equals(system) && x.concurrency() == c)
                        .findFirst().orElse(null);
                if (a == null) {
                    continue;
                }
                double x = xAt(i, concurrency.size(), left, plotW);
                if (!a.ok()) {
                    marks.append(String.format(Locale.ROOT, "<g stroke=\"#d62728\" stroke-width=\"2\"><title>%s c=%d: "
                            + "FAILED</title><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                            + "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/></g>\n",
                            escape(system), c, x - 5, bottom - 5, x + 5, bottom + 5, x - 5, bottom + 5, x + 5,
                            bottom - 5));
                    continue;
                }
                double v = a.medianTransfersPerSecond();
                double y = bottom - plotH * v / yMax;
                points.add(String.format(Locale.ROOT, "%.1f,%.1f", x, y));
                marks.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\">"
                        + "<title>%s c=%d: %s transfers/s</title></circle>\n", x, y, color, escape(system), c,
                        formatCount(v)));
            }
            if (points.size() > 1) {
                s.append(String.format(Locale.ROOT, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s"
                        + " points=\"%s\"/>\n", color, dash, String.join(" ", points)));
            }
            s.append(marks);
        }
    }

    private static void legend(StringBuilder s, int x0, int y0, int width, List<String> systems) {
        int itemW = 130;
        double start = x0 + (width - itemW * (systems.size() + 1)) / 2.0;
        for (int k = 0; k < systems.size(); k++) {
            double x = start + k * itemW;
            String dash = systems.get(k).equals("baseline") ? " stroke-dasharray=\"6 4\"" : "";
            s.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\""
                    + " stroke-width=\"2\"%s/>\n", x, y0 + 10, x + 24, y0 + 10, color(systems.get(k), k), dash));
            s.append(text(x + 30, y0 + 14, "start", 12, "normal",
                    systems.get(k) + (systems.get(k).equals("baseline") ? " (not atomic)" : "")));
        }
        double x = start + systems.size() * itemW;
        s.append(String.format(Locale.ROOT, "<g stroke=\"#d62728\" stroke-width=\"2\"><line x1=\"%.1f\" y1=\"%d\""
                + " x2=\"%.1f\" y2=\"%d\"/><line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/></g>\n",
                x + 7, y0 + 5, x + 17, y0 + 15, x + 7, y0 + 15, x + 17, y0 + 5));
        s.append(text(x + 30, y0 + 14, "start", 12, "normal", "check failed"));
    }

    private static double xAt(int i, int n, double left, double plotW) {
        return n == 1 ? left + plotW / 2 : left + 20 + (plotW - 40) * i / (n - 1);
    }

    static String dbTitle(String db) {
        return switch (db) {
            case "h2" -> "H2: two file databases, embedded";
            case "pg" -> "PostgreSQL: two servers, fsync on";
            default -> db;
        };
    }

    private static String color(String system, int index) {
        return COLORS.getOrDefault(system, FALLBACK_COLORS[index % FALLBACK_COLORS.length]);
    }

    /** Smallest 1, 2 or 5 times a power of ten that is at least v. */
    static double niceCeiling(double v) {
        if (v <= 0) {
            return 1;
        }
        double p = Math.pow(10, Math.floor(Math.log10(v)));
        for (double m : new double[] {1, 2, 2.5, 5, 10}) {
            if (m * p >= v) {
                return m * p;
            }
        }
        return 10 * p;
    }

    static String formatCount(double v) {
        return v >= 100 || v == 0 ? String.format(Locale.ROOT, "%,.0f", v) : String.format(Locale.ROOT, "%.1f", v);
    }

    private static String text(double x, double y, String anchor, int size, String weight, String content) {
        return String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"%d\""
                + " font-weight=\"%s\">%s</text>\n", x, y, anchor, size, weight, escape(content));
    }

    static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}

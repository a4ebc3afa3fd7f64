package dev.duet.benchmark;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

/** The systems the driver knows, by command-line name; each is built for one cell's concurrency. */
public final class Systems {

    private static final Map<String, IntFunction<TransferSystem>> FACTORIES = new LinkedHashMap<>();

    static {
        // "duet" goes first once it exists: DuetSystem starts the coordinator and both demo-bank processes (every
        // durable log on) against dbs.externalJdbcUrl(A/B), then calls the demo bank's POST /transfers over
        // loopback HTTP. Register it here as FACTORIES.put("duet", DuetSystem::new).
        FACTORIES.put("atomikos", AtomikosSystem::new);
        FACTORIES.put("narayana", NarayanaSystem::new);
        FACTORIES.put("baseline", BaselineSystem::new);
    }

    private Systems() {}

    public static List<String> names() {
        return List.copyOf(FACTORIES.keySet());
    }

    public static TransferSystem create(String name, int concurrency) {
        IntFunction<TransferSystem> factory = FACTORIES.get(name);
        if (factory == null) {
            throw new IllegalArgumentException("unknown system '" + name + "'; known: " + names());
        }
        return factory.apply(concurrency);
    }
}

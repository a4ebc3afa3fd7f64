package dev.duet.benchmark;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

/** The systems the driver knows, by command-line name; each is built for one cell's concurrency. */
public final class Systems {

    private static final Map<String, IntFunction<TransferSystem>> FACTORIES = new LinkedHashMap<>();
    /** Runnable by name but never part of the default matrix: they exist to prove the checks can fail. */
    private static final Map<String, IntFunction<TransferSystem>> CANARIES = new LinkedHashMap<>();
    /** Runnable by name, not in the default matrix: floors that say what no system here can beat. */
    private static final Map<String, IntFunction<TransferSystem>> REFERENCES = new LinkedHashMap<>();

    static {
        FACTORIES.put("duet", DuetSystem::new);
        FACTORIES.put("atomikos", AtomikosSystem::new);
        FACTORIES.put("narayana", NarayanaSystem::new);
        FACTORIES.put("baseline", BaselineSystem::new);
        CANARIES.put("canary", CanarySystem::new);
        REFERENCES.put("xa-floor", XaFloorSystem::new);
    }

    private Systems() {}

    /** The measured systems, in report order: the default matrix. */
    public static List<String> names() {
        return List.copyOf(FACTORIES.keySet());
    }

    /** Systems that must fail their checks; run one with --systems to see the checks fail. */
    public static List<String> canaryNames() {
        return List.copyOf(CANARIES.keySet());
    }

    /** Reference floors, runnable with --systems: not products, so not in the default matrix. */
    public static List<String> referenceNames() {
        return List.copyOf(REFERENCES.keySet());
    }

    public static boolean known(String name) {
        return FACTORIES.containsKey(name) || CANARIES.containsKey(name) || REFERENCES.containsKey(name);
    }

    public static TransferSystem create(String name, int concurrency) {
        IntFunction<TransferSystem> factory = FACTORIES.getOrDefault(name, CANARIES.getOrDefault(name, REFERENCES.get(name)));
        if (factory == null) {
            throw new IllegalArgumentException("unknown system '" + name + "'; known: " + names() + ", canaries: "
                    + canaryNames() + ", references: " + referenceNames());
        }
        return factory.apply(concurrency);
    }
}

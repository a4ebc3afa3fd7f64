package dev.duet.benchmark;

/** The two banks of the workload: money always leaves A and arrives in B. */
public enum Bank {
    A,
    B;

    public String lowerName() {
        return "bank-" + name().toLowerCase(java.util.Locale.ROOT);
    }
}

/**
 * Side-by-side benchmark: the same two-bank transfer through Duet, Atomikos, Narayana and a non-atomic baseline.
 *
 * <p>{@link dev.duet.benchmark.Bench} is the driver (one command runs the matrix and writes the report);
 * {@link dev.duet.benchmark.Cell} runs one (system, database, concurrency) cell in a fresh JVM;
 * {@link dev.duet.benchmark.TransferSystem} is what a system under test implements;
 * {@link dev.duet.benchmark.DatabasePair} owns the two bank databases and the money checks.
 */
package dev.duet.benchmark;

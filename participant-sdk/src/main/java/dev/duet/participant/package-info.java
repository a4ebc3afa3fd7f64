/**
 * The participant SDK: makes a Java service a participant of Duet's two-phase commit over HTTP.
 *
 * <ul>
 *   <li>{@link dev.duet.participant.Participant}: the XA-like contract a resource implements.
 *   <li>{@code http}: the endpoints the coordinator calls ({@code /prepare}, {@code /commit},
 *       {@code /rollback}), with signature checks and a bounded worker pool.
 *   <li>{@code context}: transaction context propagation (the {@code Duet-Transaction} header), a
 *       client of the coordinator's API, and the handler that joins incoming requests to a
 *       transaction.
 *   <li>{@code jdbc}: the adapter over any {@code javax.sql.XADataSource}.
 *   <li>{@code recovery}: <b>where in-doubt branches are resolved</b> after a crash.
 *   <li>{@code contract}: a JUnit test kit that checks any participant against the wire protocol.
 * </ul>
 */
package dev.duet.participant;

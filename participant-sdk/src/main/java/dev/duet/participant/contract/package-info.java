/**
 * A reusable contract test kit: extend {@link dev.duet.participant.contract.ParticipantContractTest}
 * to check any participant (Java or not, reached over HTTP) against the wire protocol. Needs
 * junit-jupiter on the test classpath.
 */
package dev.duet.participant.contract;

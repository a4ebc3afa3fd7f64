/**
 * The wire format shared by the coordinator and the participant SDK: request and reply bodies,
 * header names, limits, transaction ids and request signing. Defined once so both sides agree.
 * docs/protocol.md and docs/openapi.yaml describe the same format for non-Java participants.
 */
package dev.duet.wire;

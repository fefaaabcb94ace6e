package io.rendezvous.config;

/**
 * Marker for every message that may cross nodes. Bound to Jackson CBOR in {@code reference.conf},
 * so a message that is not serializable fails in a unit test, not only in a real cluster.
 */
public interface CborSerializable {}

package io.rendezvous.actors.edge;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

/**
 * Server-side request ids: UUIDv7 (RFC 9562), so they sort by time, with the node in them. Layout:
 * 48-bit Unix milliseconds, version 7, a 12-bit sequence within the millisecond (monotonic on this
 * node), variant, then a 16-bit hash of the node name and 46 random bits. A node's warm-up requests
 * ({@link #nextWarmUp()}) have the same layout with version 8 (RFC 9562's custom version) instead
 * of 7, so that every record of theirs is known by its key alone ({@link #isWarmUp}): kept in the
 * journal, never mirrored to Kafka or counted in the node's figures.
 */
public final class RequestIds {
  private final long nodeBits;
  private final SecureRandom random = new SecureRandom();

  /** (millis << 12 | sequence) of the last id issued; ids never go backwards on this node. */
  private final AtomicLong last = new AtomicLong();

  public RequestIds(String node) {
    this.nodeBits = nodeHash(node);
  }

  public String next() {
    return next(0x7000L);
  }

  /**
   * An id that {@code preferred} accepts, if one of {@code attempts} fresh ids is (each is drawn as
   * {@link #next()} draws it); otherwise the last one drawn. Used to place a request in a shard
   * this node hosts ({@link LocalShards}).
   */
  public String next(Predicate<String> preferred, int attempts) {
    return preferred(0x7000L, preferred, attempts);
  }

  /** An id for a request of the node's own warm-up. */
  public String nextWarmUp() {
    return next(0x8000L);
  }

  /**
   * A warm-up id placed as {@link #next(Predicate, int)} places a user's: a node's warm-up loads
   * its own shards, not its peers'.
   */
  public String nextWarmUp(Predicate<String> preferred, int attempts) {
    return preferred(0x8000L, preferred, attempts);
  }

  private String preferred(long version, Predicate<String> preferred, int attempts) {
    String id = next(version);
    for (int i = 1; i < attempts && !preferred.test(id); i++) {
      id = next(version);
    }
    return id;
  }

  /** Whether {@code id} is a warm-up request's (version 8): a string check, no parsing. */
  public static boolean isWarmUp(String id) {
    return id != null && id.length() == 36 && id.charAt(14) == '8';
  }

  private String next(long version) {
    long now = System.currentTimeMillis() << 12;
    long stamp = last.updateAndGet(prev -> Math.max(prev + 1, now));
    long millis = stamp >>> 12;
    long seq = stamp & 0xFFF;
    long msb = (millis << 16) | version | seq;
    long lsb = 0x8000_0000_0000_0000L | (nodeBits << 46) | (random.nextLong() & 0x3FFF_FFFF_FFFFL);
    return new UUID(msb, lsb).toString();
  }

  /** The 16-bit node hash carried in {@code id}. */
  public static int nodeHashOf(String id) {
    return (int) ((UUID.fromString(id).getLeastSignificantBits() >>> 46) & 0xFFFF);
  }

  /** Milliseconds since the epoch at which {@code id} was issued. */
  public static long millisOf(String id) {
    return UUID.fromString(id).getMostSignificantBits() >>> 16;
  }

  public static int nodeHash(String node) {
    int h = 0x811C9DC5;
    for (byte b : node.getBytes(StandardCharsets.UTF_8)) {
      h = (h ^ (b & 0xFF)) * 0x01000193;
    }
    return (h ^ (h >>> 16)) & 0xFFFF;
  }
}

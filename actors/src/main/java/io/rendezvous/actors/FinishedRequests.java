package io.rendezvous.actors;

import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;
import org.apache.pekko.actor.ActorPath;

/**
 * The requests this node's entities finished within the dedup window, each with its client's
 * address. The edge resends a request whose acceptance it has not heard of (the first copy could
 * have been lost while a shard moved), so a copy can reach the shard after its entity has stopped;
 * the entity the copy starts finds the request here and neither serves it again nor leaves its edge
 * waiting.
 *
 * <p>A finished entity used to stay alive for the window instead. Under load thousands wait at
 * once, each with Pekko's per-actor state, and every young collection copied them: at 6,700
 * requests/s young pauses were 9 ms with a 300 ms window and 5 ms with 50 ms. An entry here is a
 * map node and a small record.
 *
 * <p>Entities run on many threads, so the entries live in concurrent maps: two generations, the
 * current one taking new entries and swapped out once a window has passed, so an entry is kept for
 * at least one window and at most two. A request's copies go to its shard, which lives on one node,
 * so a node-local record is enough (as the entity itself was).
 */
public final class FinishedRequests {
  /**
   * A finished request: the address its answer went to (null when it was refused before it had
   * one).
   */
  public record Finished(ActorPath client) {}

  private record Generations(
      long sinceNanos,
      ConcurrentHashMap<String, Finished> current,
      ConcurrentHashMap<String, Finished> previous) {}

  private final long windowNanos;
  private final LongSupplier clock;
  private final AtomicReference<Generations> generations;

  /**
   * {@code clock} in nanoseconds, as {@link RendezvousRuntime#clock()}; a zero window keeps
   * nothing.
   */
  public FinishedRequests(Duration window, LongSupplier clock) {
    this.windowNanos = window.toNanos();
    this.clock = clock;
    this.generations =
        new AtomicReference<>(
            new Generations(
                clock.getAsLong(), new ConcurrentHashMap<>(), new ConcurrentHashMap<>()));
  }

  public Duration window() {
    return Duration.ofNanos(windowNanos);
  }

  /** Remembers {@code requestId} as finished, answered to {@code client} (may be null). */
  public void add(String requestId, ActorPath client) {
    if (windowNanos == 0) {
      return;
    }
    // put into the generation that was current when this call looked: a swap meanwhile only makes
    // it the previous one, which stays until the window after the one it started in has passed (see
    // current())
    current().current().put(requestId, new Finished(client));
  }

  /** The request if it finished here within the window (or a little longer); else null. */
  public Finished lookup(String requestId) {
    if (windowNanos == 0) {
      return null;
    }
    Generations g = current();
    Finished f = g.current().get(requestId);
    return f != null ? f : g.previous().get(requestId);
  }

  /** Entries in both generations, for tests and metrics. */
  int size() {
    Generations g = generations.get();
    return g.current().size() + g.previous().size();
  }

  private Generations current() {
    Generations g = generations.get();
    long now = clock.getAsLong();
    long age = now - g.sinceNanos();
    if (age < windowNanos) {
      return g;
    }
    // a window or more since the last swap: the current generation becomes the previous one, and
    // the new one starts where the old one's window ended, so an entry lives at least one window
    // (it went into a generation younger than a window) and at most two; after two windows without
    // traffic both are stale
    Generations next =
        age >= 2 * windowNanos
            ? new Generations(now, new ConcurrentHashMap<>(), new ConcurrentHashMap<>())
            : new Generations(g.sinceNanos() + windowNanos, new ConcurrentHashMap<>(), g.current());
    generations.compareAndSet(g, next);
    return generations.get();
  }
}

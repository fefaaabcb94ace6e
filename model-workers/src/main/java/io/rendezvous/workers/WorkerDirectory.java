package io.rendezvous.workers;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * Where each model's pools are, as last reported by the Receptionist. Written only by the {@link
 * ModelDirectory} actor (an immutable snapshot swapped in whole); read by rendezvous entities on
 * this node without a message round trip.
 *
 * <p>Choice among several pools of one model (one per node in a cluster): this node's own pool
 * first, since a local hop costs no serialization; otherwise the remote pools in turn.
 */
public final class WorkerDirectory {
  private volatile Map<String, List<ActorRef<ModelPool.Command>>> pools = Map.of();
  private final AtomicInteger turn = new AtomicInteger();
  private final List<Waiter> waiters = new java.util.concurrent.CopyOnWriteArrayList<>();

  private record Waiter(Set<String> models, java.util.concurrent.CompletableFuture<Void> done) {}

  /**
   * Completes once every one of {@code models} has a pool somewhere (at once if they do already).
   */
  public java.util.concurrent.CompletionStage<Void> whenAvailable(Set<String> models) {
    Waiter w = new Waiter(Set.copyOf(models), new java.util.concurrent.CompletableFuture<>());
    waiters.add(w);
    notifyWaiters();
    return w.done();
  }

  /**
   * The same, failing with a {@link java.util.concurrent.TimeoutException} if not all of them have
   * a pool within {@code timeout}.
   */
  public java.util.concurrent.CompletionStage<Void> whenAvailable(
      Set<String> models, java.time.Duration timeout) {
    Waiter w = new Waiter(Set.copyOf(models), new java.util.concurrent.CompletableFuture<>());
    waiters.add(w);
    w.done()
        .orTimeout(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)
        .whenComplete((ok, failure) -> waiters.remove(w));
    notifyWaiters();
    return w.done();
  }

  private void notifyWaiters() {
    Set<String> now = pools.keySet();
    for (Waiter w : waiters) {
      if (now.containsAll(w.models())) {
        waiters.remove(w);
        w.done().complete(null);
      }
    }
  }

  /** Replaces the pools known for {@code model}; called by {@link ModelDirectory} (and tests). */
  public void update(String model, List<ActorRef<ModelPool.Command>> refs) {
    java.util.HashMap<String, List<ActorRef<ModelPool.Command>>> next =
        new java.util.HashMap<>(pools);
    if (refs.isEmpty()) {
      next.remove(model);
    } else {
      next.put(model, List.copyOf(refs));
    }
    pools = Map.copyOf(next);
    notifyWaiters();
  }

  public Optional<ActorRef<ModelPool.Command>> pick(String model) {
    List<ActorRef<ModelPool.Command>> refs = pools.get(model);
    if (refs == null) {
      return Optional.empty();
    }
    for (ActorRef<ModelPool.Command> r : refs) {
      if (r.path().address().hasLocalScope()) {
        return Optional.of(r);
      }
    }
    return Optional.of(refs.get(Math.floorMod(turn.getAndIncrement(), refs.size())));
  }

  /** This node's own pool of {@code model}, if it has one. */
  public Optional<ActorRef<ModelPool.Command>> local(String model) {
    return pools.getOrDefault(model, List.of()).stream()
        .filter(r -> r.path().address().hasLocalScope())
        .findFirst();
  }

  /** Models with at least one pool somewhere in the cluster. */
  public Set<String> available() {
    return pools.keySet();
  }
}

package io.rendezvous.node;

import io.rendezvous.actors.EndpointSettings;
import io.rendezvous.journal.JournalWriter;
import io.rendezvous.workers.WorkerDirectory;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * Ready means: member Up, every endpoint's models have a worker pool, the journal writes, not
 * stopping, and every gate added by the node ({@link #gate}: its warm-up) open.
 */
public final class Readiness {
  private final Cluster cluster;
  private final WorkerDirectory directory;
  private final JournalWriter journal;
  private final java.util.function.Supplier<Collection<EndpointSettings>> endpoints;
  private volatile boolean stopping;
  private volatile io.rendezvous.workers.PoolHealth pools = new io.rendezvous.workers.PoolHealth();
  private final Map<String, java.util.function.LongSupplier> figures =
      new java.util.concurrent.ConcurrentHashMap<>();

  /** Figures whose names are known only when asked (one per endpoint that has had one, say). */
  private final java.util.List<java.util.function.Supplier<Map<String, Long>>> figureSets =
      new java.util.concurrent.CopyOnWriteArrayList<>();

  public Readiness(
      ActorSystem<?> system,
      WorkerDirectory directory,
      JournalWriter journal,
      Collection<EndpointSettings> endpoints) {
    this(system, directory, journal, () -> endpoints);
  }

  /** Readiness over the endpoints as they are now ({@code endpoints} is asked at each check). */
  public Readiness(
      ActorSystem<?> system,
      WorkerDirectory directory,
      JournalWriter journal,
      java.util.function.Supplier<Collection<EndpointSettings>> endpoints) {
    this.cluster = Cluster.get(system);
    this.directory = directory;
    this.journal = journal;
    this.endpoints = endpoints;
  }

  private final Map<String, java.util.function.Supplier<String>> gates =
      new java.util.concurrent.ConcurrentSkipListMap<>();

  /** The node's model pools, whose degraded ones {@link #degraded()} lists. */
  public Readiness withPools(io.rendezvous.workers.PoolHealth pools) {
    this.pools = pools;
    return this;
  }

  /**
   * Models whose pool here is degraded (hung workers, fewer serving than configured), each with
   * what is wrong. Not a check: the node still answers by its schedule's other models, and a
   * replacement worker serves in the hung one's place.
   */
  public Map<String, String> degraded() {
    return pools.degraded();
  }

  /** A further check: {@code problem} gives null when it passes, or why not. */
  public void gate(String name, java.util.function.Supplier<String> problem) {
    gates.put(name, problem);
  }

  /** Whether every check but the gates passes: what a gate may wait for before it starts. */
  public boolean serving() {
    return baseChecks().values().stream().allMatch("ok"::equals);
  }

  public void stopping() {
    stopping = true;
  }

  /** Each check's name and whether it passes, or why not. */
  public Map<String, String> checks() {
    Map<String, String> out = baseChecks();
    gates.forEach(
        (name, problem) -> {
          String p = problem.get();
          out.put(name, p == null ? "ok" : p);
        });
    return out;
  }

  private Map<String, String> baseChecks() {
    Map<String, String> out = new LinkedHashMap<>();
    MemberStatus status = cluster.selfMember().status();
    out.put("cluster", status == MemberStatus.up() ? "ok" : "member status is " + status);
    String missing =
        // live models only: a shadow or a canary being loaded does not make a node unready
        endpoints.get().stream()
            .flatMap(e -> e.schedule().stream().map(EndpointSettings.Stage::model))
            .distinct()
            .filter(m -> !directory.available().contains(m))
            .sorted()
            .reduce((a, b) -> a + ", " + b)
            .orElse(null);
    out.put("models", missing == null ? "ok" : "no worker pool yet for " + missing);
    String journalProblem = journal.unwritableReason();
    out.put("journal", journalProblem == null ? "ok" : journalProblem);
    out.put("shutdown", stopping ? "node is shutting down" : "ok");
    return out;
  }

  /** A figure shown beside the checks (not a check): the Kafka outbox lag, say. */
  public void report(String name, java.util.function.LongSupplier value) {
    figures.put(name, value);
  }

  /** Figures named when asked: {@code each} gives them, names and values, at every check. */
  public void reportEach(java.util.function.Supplier<Map<String, Long>> each) {
    figureSets.add(each);
  }

  public Map<String, Long> figures() {
    Map<String, Long> out = new java.util.TreeMap<>();
    figures.forEach((k, v) -> out.put(k, v.getAsLong()));
    figureSets.forEach(each -> out.putAll(each.get()));
    return out;
  }

  public boolean ready() {
    return checks().values().stream().allMatch("ok"::equals);
  }
}

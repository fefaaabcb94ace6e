package io.rendezvous.actors;

import io.rendezvous.model.ModelRef;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * This node's endpoints: an immutable, versioned {@link Table} that a change replaces whole. One
 * owner writes it ({@link EndpointRegistry}); requests, routes and readiness read it without a
 * message round trip, and a request reads it once, when its entity starts, and keeps what it read
 * for its whole life, so a change never splits a request between two configurations.
 *
 * <p>A single-model endpoint {@code m3} also answers as {@code m3@2} for each version of it: the
 * endpoint with that version alone (the versioned routes of the Open Inference Protocol).
 */
public final class Endpoints {

  /** The endpoints of one generation, by name. */
  public record Table(long generation, Map<String, EndpointSettings> byName) {
    public Table {
      byName = Map.copyOf(byName);
    }
  }

  private volatile Table table;

  /** The endpoints the node starts with: generation 1. */
  public Endpoints(Map<String, EndpointSettings> initial) {
    this.table = stamped(1, initial);
  }

  static Table stamped(long generation, Map<String, EndpointSettings> endpoints) {
    Map<String, EndpointSettings> out = new LinkedHashMap<>();
    endpoints.forEach((name, e) -> out.put(name, e.withGeneration(generation)));
    return new Table(generation, out);
  }

  public Table current() {
    return table;
  }

  public long generation() {
    return table.generation();
  }

  /** Replaces the table; only its owner calls this. */
  void publish(Table next) {
    if (next.generation() <= table.generation()) {
      throw new IllegalArgumentException(
          "generation " + next.generation() + " is not after " + table.generation());
    }
    table = next;
  }

  /**
   * The endpoint {@code name} of the current table, or the versioned endpoint {@code model@version}
   * of a single-model endpoint; null when there is none.
   */
  public EndpointSettings get(String name) {
    Table t = table;
    EndpointSettings e = t.byName().get(name);
    if (e != null || name == null || name.indexOf('@') < 0) {
      return e;
    }
    // made for each request: kept, any version a client names would be kept
    return versionOf(t, name);
  }

  private static EndpointSettings versionOf(Table t, String name) {
    ModelRef ref;
    try {
      ref = ModelRef.parse(name);
    } catch (IllegalArgumentException e) {
      return null;
    }
    EndpointSettings base = t.byName().get(ref.name());
    if (!ref.versioned() || base == null || !isSingleModel(base, ref.name())) {
      return null;
    }
    String member = ref.toString();
    return new EndpointSettings(
        name,
        List.of(member),
        base.input(),
        List.of(new EndpointSettings.Stage(member, java.time.Duration.ZERO)),
        base.policy(),
        base.sla(),
        base.journalMargin(),
        base.linger(),
        base.labels(),
        base.deliveryGrace(),
        List.of(),
        t.generation());
  }

  /** Whether {@code e} is the endpoint of one model only, {@code model}, in some version. */
  static boolean isSingleModel(EndpointSettings e, String model) {
    return e.models().stream().allMatch(m -> ModelRef.parse(m).name().equals(model));
  }

  public boolean contains(String name) {
    return get(name) != null;
  }

  /** The current endpoints' names, sorted. */
  public Set<String> names() {
    return new TreeSet<>(table.byName().keySet());
  }

  /** The current endpoints, by name. */
  public Map<String, EndpointSettings> all() {
    return table.byName();
  }
}

package io.rendezvous.actors.lifecycle;

import io.rendezvous.actors.EndpointSettings;
import io.rendezvous.actors.schedule.DecisionPolicies;
import io.rendezvous.config.CborSerializable;
import io.rendezvous.model.ModelRef;
import io.rendezvous.model.TensorSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What every node of the cluster should serve: the model versions to be loaded (with the content
 * hash each must have), those to be retired, and every endpoint with its members, roles, schedule
 * and policy, as of one {@code generation}. Replicated to every node with Distributed Data (and
 * kept on each node's disk), written by the node that took an admin request; each node brings
 * itself to it and says so ({@link Applied}). Plain data, so that two releases of the node read
 * each other's: a field added later is ignored by a reader that does not know it.
 */
public record DesiredState(
    long generation,
    Map<String, VersionSpec> versions,
    List<String> retired,
    Map<String, EndpointSpec> endpoints,
    String changedBy,
    String change)
    implements CborSerializable {

  public static final DesiredState EMPTY =
      new DesiredState(0, Map.of(), List.of(), Map.of(), null, null);

  public DesiredState {
    versions = versions == null ? Map.of() : new TreeMap<>(versions);
    retired = retired == null ? List.of() : List.copyOf(retired);
    endpoints = endpoints == null ? Map.of() : new TreeMap<>(endpoints);
  }

  public boolean isEmpty() {
    return generation == 0;
  }

  /**
   * A version to be loaded on every node; {@code sources}: nodes' HTTP addresses that had it;
   * {@code checkedAccuracy}: its hold-out accuracy as measured where it was first loaded (a node
   * with files of the same content hash need not measure it again).
   */
  public record VersionSpec(
      String name,
      String version,
      String contentHash,
      List<String> sources,
      Integer workers,
      Integer queueCapacity,
      Integer maxBatchSize,
      Long maxBatchDelayMicros,
      Double checkedAccuracy)
      implements CborSerializable {
    public VersionSpec {
      sources = sources == null ? List.of() : List.copyOf(sources);
    }

    public String member() {
      return ModelRef.of(name, version);
    }
  }

  /** One stage of an endpoint's schedule. */
  public record StageSpec(String model, long afterMicros) implements CborSerializable {}

  /** An endpoint as {@link EndpointSettings} has it, in plain data. */
  public record EndpointSpec(
      String name,
      List<String> models,
      List<StageSpec> schedule,
      List<String> canaries,
      String policy,
      long slaMicros,
      long journalMarginMicros,
      long lingerMicros,
      long deliveryGraceMicros,
      String inputName,
      String inputDtype,
      List<Long> inputShape,
      List<String> labels)
      implements CborSerializable {

    public static EndpointSpec of(EndpointSettings e) {
      List<StageSpec> schedule = new ArrayList<>();
      e.schedule().forEach(s -> schedule.add(new StageSpec(s.model(), micros(s.after()))));
      return new EndpointSpec(
          e.name(),
          e.models(),
          schedule,
          e.canaries(),
          e.policy().name(),
          micros(e.sla()),
          micros(e.journalMargin()),
          micros(e.linger()),
          micros(e.deliveryGrace()),
          e.input().name(),
          e.input().dtype(),
          e.input().shape(),
          e.labels());
    }

    /** The endpoint, at table generation {@code generation}; invalid ones throw. */
    public EndpointSettings toSettings(long generation) {
      List<EndpointSettings.Stage> stages = new ArrayList<>();
      schedule.forEach(
          s -> stages.add(new EndpointSettings.Stage(s.model(), ofMicros(s.afterMicros()))));
      return new EndpointSettings(
          name,
          models,
          new TensorSpec(inputName, inputDtype, inputShape),
          stages,
          DecisionPolicies.find(policy)
              .orElseThrow(
                  () ->
                      new IllegalArgumentException(
                          "endpoint " + name + ": this node knows no policy '" + policy + "'")),
          ofMicros(slaMicros),
          ofMicros(journalMarginMicros),
          ofMicros(lingerMicros),
          labels,
          ofMicros(deliveryGraceMicros),
          canaries,
          generation);
    }

    private static long micros(Duration d) {
      return d.toNanos() / 1_000;
    }

    private static Duration ofMicros(long m) {
      return Duration.ofNanos(m * 1_000);
    }
  }

  /** The endpoints as this node runs them, at {@code generation}. */
  public Map<String, EndpointSettings> endpointSettings() {
    Map<String, EndpointSettings> out = new LinkedHashMap<>();
    endpoints.forEach((name, spec) -> out.put(name, spec.toSettings(generation)));
    return out;
  }

  /** The next generation: {@code endpoints} and {@code versions} as given, said to be by whom. */
  public DesiredState next(
      Map<String, EndpointSpec> endpoints,
      Map<String, VersionSpec> versions,
      List<String> retired,
      String by,
      String change) {
    return new DesiredState(generation + 1, versions, retired, endpoints, by, change);
  }

  /** Where one node stands: the generation it has applied, its HTTP address, and any problem. */
  public record Applied(long generation, String url, String problem) implements CborSerializable {}
}

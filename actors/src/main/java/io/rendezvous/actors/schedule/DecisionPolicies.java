package io.rendezvous.actors.schedule;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * The policies an endpoint's {@code policy} setting (or the admin API) can name: the deadline
 * schedule, highest confidence, ensemble average and Thompson sampling over feedback (which reads
 * the node's {@link Rewards}).
 */
public final class DecisionPolicies {

  /**
   * Suppliers, not instances: every endpoint gets a policy of its own, which a policy that learns
   * across requests (Thompson sampling) will need; a stateless one hands out its single instance.
   */
  private static final Map<String, Supplier<DecisionPolicy>> BY_NAME =
      Map.of(
          DeadlinePriority.NAME, () -> DeadlinePriority.INSTANCE,
          HighestConfidence.NAME, () -> HighestConfidence.INSTANCE,
          EnsembleAverage.NAME, () -> EnsembleAverage.INSTANCE,
          ThompsonSampling.NAME, () -> ThompsonSampling.INSTANCE);

  private DecisionPolicies() {}

  /** The policy named {@code name}, for one endpoint; empty when there is none by that name. */
  public static Optional<DecisionPolicy> find(String name) {
    Supplier<DecisionPolicy> s = BY_NAME.get(name);
    return s == null ? Optional.empty() : Optional.of(s.get());
  }

  /** Every known name, sorted (for the start-up error that lists them). */
  public static List<String> names() {
    return BY_NAME.keySet().stream().sorted().toList();
  }
}

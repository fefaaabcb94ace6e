package io.rendezvous.actors.schedule;

import io.rendezvous.actors.EndpointSettings;

/**
 * How an endpoint chooses its one answer from its models' results: set per endpoint ({@code policy}
 * in {@code rendezvous.endpoints.<name>}, resolved by {@link DecisionPolicies}), it makes a fresh
 * {@link Decider} for each request. A new policy is a new implementation listed in {@link
 * DecisionPolicies}; the entity only ever talks to the {@code Decider}, so it does not change.
 */
public interface DecisionPolicy {

  /** The name the {@code policy} setting gives it. */
  String name();

  /** The rules for one new request of {@code endpoint}. */
  Decider start(EndpointSettings endpoint);

  /**
   * The rules for one new request, given what feedback said of the endpoint's models on this node
   * ({@code rewards}). Only a policy that learns from feedback looks at them.
   */
  default Decider start(EndpointSettings endpoint, Rewards rewards) {
    return start(endpoint);
  }
}

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
   * What a user said of an answer {@code member} gave: right or wrong. A policy that learns from
   * feedback (Thompson sampling) weighs its members by it; the others ignore it.
   */
  default void feedback(String member, boolean correct) {}
}

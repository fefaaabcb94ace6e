package io.rendezvous.actors.schedule;

import io.rendezvous.model.ModelRef;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;

/**
 * What feedback said of each model version's own scores, per endpoint: how often the label a
 * version scored highest was the one the user gave (a success) and how often it was not. One per
 * node, written by the node's feedback keeper (every node hears of every correction) and read by
 * {@link ThompsonSampling}'s deciders at each request's start; counts only grow, so a reader sees a
 * consistent enough pair without a lock. {@code priorSuccesses}/{@code priorFailures} are the Beta
 * prior every version starts from; {@code random} gives each decider its source of randomness
 * (seeded in tests).
 */
public final class Rewards {

  /** A version's counts as feedback left them, the prior not included. */
  public record Tally(long successes, long failures) {
    public static final Tally NONE = new Tally(0, 0);

    public long total() {
      return successes + failures;
    }

    Tally plus(Tally o) {
      return new Tally(successes + o.successes, failures + o.failures);
    }
  }

  private final double priorSuccesses;
  private final double priorFailures;
  private final Supplier<RandomGenerator> random;

  // endpoint -> "model@version" -> {successes, failures}
  private final Map<String, Map<String, AtomicLongArray>> byEndpoint = new ConcurrentHashMap<>();

  public Rewards(double priorSuccesses, double priorFailures, Supplier<RandomGenerator> random) {
    if (!(priorSuccesses > 0) || !(priorFailures > 0)) {
      throw new IllegalArgumentException(
          "the Beta prior's successes and failures must be above 0, not "
              + priorSuccesses
              + " and "
              + priorFailures);
    }
    this.priorSuccesses = priorSuccesses;
    this.priorFailures = priorFailures;
    this.random = random;
  }

  /** A uniform prior, Beta(1, 1), and a thread's own random source. */
  public static Rewards uniform() {
    return new Rewards(1, 1, java.util.concurrent.ThreadLocalRandom::current);
  }

  /** Feedback on one score: version {@code version} of {@code model} was right or wrong. */
  public void record(String endpoint, String model, String version, boolean correct) {
    byEndpoint
        .computeIfAbsent(endpoint, e -> new ConcurrentHashMap<>())
        .computeIfAbsent(ModelRef.of(model, version), m -> new AtomicLongArray(2))
        .incrementAndGet(correct ? 0 : 1);
  }

  /**
   * The counts of an endpoint's {@code member} as the endpoint names it: one version exactly
   * ({@code m3@2}), or every version of the model ({@code m3}: whichever version a node serves
   * under the name; an endpoint names a model so only while it has one version).
   */
  public Tally of(String endpoint, String member) {
    Map<String, AtomicLongArray> versions = byEndpoint.get(endpoint);
    if (versions == null) {
      return Tally.NONE;
    }
    ModelRef ref = ModelRef.parse(member);
    if (ref.versioned()) {
      return tally(versions.get(member));
    }
    Tally sum = Tally.NONE;
    for (Map.Entry<String, AtomicLongArray> e : versions.entrySet()) {
      if (ModelRef.parse(e.getKey()).name().equals(ref.name())) {
        sum = sum.plus(tally(e.getValue()));
      }
    }
    return sum;
  }

  /** Every version's counts for {@code endpoint}, by {@code model@version}, sorted. */
  public Map<String, Tally> of(String endpoint) {
    Map<String, Tally> out = new TreeMap<>();
    Map<String, AtomicLongArray> versions = byEndpoint.get(endpoint);
    if (versions != null) {
      versions.forEach((k, v) -> out.put(k, tally(v)));
    }
    return out;
  }

  public double priorSuccesses() {
    return priorSuccesses;
  }

  public double priorFailures() {
    return priorFailures;
  }

  /** A draw from {@code member}'s posterior, Beta(prior + successes, prior + failures). */
  double sample(String endpoint, String member, RandomGenerator rng) {
    Tally t = of(endpoint, member);
    return BetaSampler.sample(priorSuccesses + t.successes(), priorFailures + t.failures(), rng);
  }

  RandomGenerator random() {
    return random.get();
  }

  private static Tally tally(AtomicLongArray a) {
    return a == null ? Tally.NONE : new Tally(a.get(0), a.get(1));
  }
}

package io.rendezvous.actors.schedule;

import io.rendezvous.actors.EndpointSettings;
import io.rendezvous.actors.EndpointSettings.Stage;
import io.rendezvous.workers.ModelPool;
import java.time.Duration;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.random.RandomGenerator;
import java.util.stream.IntStream;

/**
 * {@code policy = thompson-sampling}: at each request's start, one draw from every live model's
 * posterior Beta(prior + successes, prior + failures) of its own scores' feedback ({@link
 * Rewards}); the live models are then preferred in the order of their draws. The answer is the most
 * preferred model's score as soon as it has one; a model that will not answer (failed, overloaded,
 * no worker) gives way to the next; at the decision deadline, the most preferred score in. A
 * version with little feedback draws widely, so it is tried; one that users keep correcting draws
 * low and fades. Shadows and canaries earn rewards too (their scores are joined to feedback like
 * any), but are never chosen here.
 */
public final class ThompsonSampling implements DecisionPolicy {
  public static final String NAME = "thompson-sampling";

  /**
   * It keeps nothing itself (the node's {@link Rewards} do): one instance serves every endpoint.
   */
  public static final ThompsonSampling INSTANCE = new ThompsonSampling();

  private ThompsonSampling() {}

  @Override
  public String name() {
    return NAME;
  }

  /** Without a node's rewards: every model at the uniform prior. */
  @Override
  public Decider start(EndpointSettings endpoint) {
    return start(endpoint, Rewards.uniform());
  }

  @Override
  public Decider start(EndpointSettings endpoint, Rewards rewards) {
    RandomGenerator rng = rewards.random();
    List<Stage> schedule = endpoint.schedule();
    double[] draws = new double[schedule.size()];
    for (int k = 0; k < draws.length; k++) {
      draws[k] = rewards.sample(endpoint.name(), schedule.get(k).model(), rng);
    }
    int[] preference =
        IntStream.range(0, draws.length)
            .boxed()
            .sorted(Comparator.comparingDouble((Integer k) -> -draws[k]))
            .mapToInt(Integer::intValue)
            .toArray();
    return new Sampled(endpoint, preference);
  }

  @Override
  public String toString() {
    return NAME;
  }

  /** One request's rules once the draws are made: a fixed preference order over the stages. */
  static final class Sampled implements Decider {
    private final EndpointSettings endpoint;
    private final int[] preference;
    private final ModelPool.ScoreResult[] byStage;

    Sampled(EndpointSettings endpoint, int[] preference) {
      this.endpoint = endpoint;
      this.preference = preference;
      this.byStage = new ModelPool.ScoreResult[endpoint.schedule().size()];
    }

    /** The stages, most preferred first (what the draws made of this request). */
    int[] preference() {
      return preference.clone();
    }

    @Override
    public void record(int modelIndex, ModelPool.ScoreResult result) {
      int k = endpoint.stageOf(endpoint.models().get(modelIndex));
      if (k >= 0) {
        byStage[k] = result;
      }
    }

    @Override
    public Decision decide(long elapsedMicros) {
      boolean deadline = micros(endpoint.decisionDeadline()) <= elapsedMicros;
      for (int k : preference) {
        ModelPool.ScoreResult r = byStage[k];
        if (r instanceof ModelPool.Scored s) {
          return new Decision.Answer(k, s.model(), s.version(), s.probabilities()[0]);
        }
        if (r == null && !deadline) {
          // the preferred model may still answer: wait for it
          return null;
        }
      }
      if (Arrays.stream(byStage).allMatch(Decider::willNotAnswer)) {
        return LiveScores.everyLiveModelFailed(endpoint, byStage);
      }
      return Decider.noLiveScoreBy(endpoint, elapsedMicros, "live");
    }

    @Override
    public long nextDueMicros(long elapsedMicros) {
      return Decider.deadlineDueMicros(endpoint, elapsedMicros);
    }

    /** Any live score can decide until the deadline (its preferred ones failing). */
    @Override
    public long decisiveUntilMicros(int modelIndex) {
      return endpoint.stageOf(endpoint.models().get(modelIndex)) >= 0
          ? micros(endpoint.decisionDeadline())
          : 0;
    }
  }

  private static long micros(Duration d) {
    return d.toNanos() / 1_000;
  }
}

package io.rendezvous.actors.schedule;

import io.rendezvous.actors.EndpointSettings;
import io.rendezvous.actors.EndpointSettings.Stage;
import io.rendezvous.workers.ModelPool;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The rules of a policy that looks at every live model's score together (highest confidence,
 * ensemble average): it decides as soon as every live model (the schedule's) has a result, or at
 * the decision deadline ({@code sla - journal-margin}) with the scores in by then; the schedule's
 * offsets play no part. No live score by then: every live model failed is {@link
 * Decision.AllFailed}, otherwise the first live score within the delivery grace is the answer, and
 * none by its end {@link Decision.NoAnswerByDeadline}. Shadows and canaries are scored and
 * journaled by the entity but never looked at here.
 */
abstract class LiveScores implements Decider {
  protected final EndpointSettings endpoint;

  /** Per stage (same index as endpoint.schedule()): what its model returned; null while pending. */
  private final ModelPool.ScoreResult[] byStage;

  LiveScores(EndpointSettings endpoint) {
    this.endpoint = endpoint;
    this.byStage = new ModelPool.ScoreResult[endpoint.schedule().size()];
  }

  /** The answer from the live scores in, by stage index ({@code scored} is not empty). */
  protected abstract Decision.Answer choose(List<Integer> stages, List<ModelPool.Scored> scored);

  @Override
  public void record(int modelIndex, ModelPool.ScoreResult result) {
    int k = endpoint.stageOf(endpoint.models().get(modelIndex));
    if (k >= 0) {
      byStage[k] = result;
    }
  }

  @Override
  public Decision decide(long elapsedMicros) {
    List<Integer> stages = new ArrayList<>();
    List<ModelPool.Scored> scored = new ArrayList<>();
    boolean allIn = true;
    for (int k = 0; k < byStage.length; k++) {
      if (byStage[k] instanceof ModelPool.Scored s) {
        stages.add(k);
        scored.add(s);
      } else if (byStage[k] == null) {
        allIn = false;
      }
    }
    boolean deadline = micros(endpoint.decisionDeadline()) <= elapsedMicros;
    if (!allIn && !deadline) {
      return null;
    }
    if (!scored.isEmpty()) {
      return choose(stages, scored);
    }
    if (allIn) {
      return everyLiveModelFailed(endpoint, byStage);
    }
    return Decider.noLiveScoreBy(endpoint, elapsedMicros, "live");
  }

  @Override
  public long nextDueMicros(long elapsedMicros) {
    return Decider.deadlineDueMicros(endpoint, elapsedMicros);
  }

  /** Every live score counts until the decision deadline; others never decide. */
  @Override
  public long decisiveUntilMicros(int modelIndex) {
    return endpoint.stageOf(endpoint.models().get(modelIndex)) >= 0
        ? micros(endpoint.decisionDeadline())
        : 0;
  }

  /** Every live model will not answer: the decision, naming each one's reason. */
  static Decision.AllFailed everyLiveModelFailed(
      EndpointSettings endpoint, ModelPool.ScoreResult[] byStage) {
    StringBuilder why = new StringBuilder("every live model failed:");
    List<Stage> schedule = endpoint.schedule();
    for (int k = 0; k < schedule.size(); k++) {
      why.append(' ')
          .append(schedule.get(k).model())
          .append(" (")
          .append(Decider.reasonOf(byStage[k]))
          .append(')');
    }
    return new Decision.AllFailed(why.toString());
  }

  static long micros(Duration d) {
    return d.toNanos() / 1_000;
  }

  static float confidence(float[] p) {
    float best = Float.NEGATIVE_INFINITY;
    for (float v : p) {
      best = Math.max(best, v);
    }
    return best;
  }
}

package io.rendezvous.actors.schedule;

import io.rendezvous.actors.EndpointSettings;
import io.rendezvous.actors.EndpointSettings.Stage;
import io.rendezvous.workers.ModelPool;
import java.time.Duration;
import java.util.List;

/**
 * The deadline schedule ({@code policy = deadline-priority}): the endpoint's {@code schedule}, in
 * priority order, each stage opening at its offset from the request's start.
 *
 * <ul>
 *   <li>stage k is open once its offset has passed, or at once when every higher-priority stage's
 *       model will not answer (failed, overloaded, no worker); the first stage waits for its
 *       offset;
 *   <li>the answer is the highest-priority model that has answered and whose stage is open;
 *   <li>every scheduled model will not answer: {@link Decision.AllFailed}, at once;
 *   <li>nothing chosen by the decision deadline ({@code sla - journal-margin}): the first scheduled
 *       model to answer within the endpoint's {@code delivery-grace} after it (delivered late and
 *       counted); none by then: {@link Decision.NoAnswerByDeadline}.
 * </ul>
 *
 * When several are true at the same moment they are taken in that order (an answer, then every
 * model failed, then the deadline). A model outside the schedule is scored but never chosen, and
 * does not count towards "every scheduled model". Whether a stage is open follows from the elapsed
 * time and the results alone, so a request that starts late (a fallback) finds the stages behind it
 * open.
 */
public final class DeadlinePriority implements DecisionPolicy {

  public static final String NAME = "deadline-priority";

  /** It keeps nothing between requests: one instance serves every endpoint. */
  public static final DeadlinePriority INSTANCE = new DeadlinePriority();

  private DeadlinePriority() {}

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Decider start(EndpointSettings endpoint) {
    return new Schedule(endpoint);
  }

  @Override
  public String toString() {
    return NAME;
  }

  private static final class Schedule implements Decider {
    private final EndpointSettings endpoint;

    /**
     * Per stage (same index as endpoint.schedule()): what its model returned; null while pending.
     */
    private final ModelPool.ScoreResult[] byStage;

    Schedule(EndpointSettings endpoint) {
      this.endpoint = endpoint;
      this.byStage = new ModelPool.ScoreResult[endpoint.schedule().size()];
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
      List<Stage> schedule = endpoint.schedule();
      boolean allAboveWillNotAnswer = true;
      for (int k = 0; k < schedule.size(); k++) {
        ModelPool.ScoreResult r = byStage[k];
        boolean open =
            micros(schedule.get(k).after()) <= elapsedMicros || (k > 0 && allAboveWillNotAnswer);
        if (open && r instanceof ModelPool.Scored s) {
          return new Decision.Answer(k, s.model(), s.version(), s.probabilities()[0]);
        }
        allAboveWillNotAnswer &= Decider.willNotAnswer(r);
      }
      if (allAboveWillNotAnswer) {
        StringBuilder why = new StringBuilder("every scheduled model failed:");
        for (int k = 0; k < schedule.size(); k++) {
          why.append(' ')
              .append(schedule.get(k).model())
              .append(" (")
              .append(Decider.reasonOf(byStage[k]))
              .append(')');
        }
        return new Decision.AllFailed(why.toString());
      }
      return micros(endpoint.decisionDeadline()) <= elapsedMicros
          ? Decider.noLiveScoreBy(endpoint, elapsedMicros, "scheduled")
          : null;
    }

    /**
     * The next stage offset after {@code elapsedMicros}, or the deadline due (the decision
     * deadline, then the end of the delivery grace) if that comes first. A deadline counts even
     * once passed: a request that started after it (a fallback held up that long) is then decided
     * at once, by the first tick.
     */
    @Override
    public long nextDueMicros(long elapsedMicros) {
      long due = Decider.deadlineDueMicros(endpoint, elapsedMicros);
      for (Stage s : endpoint.schedule()) {
        long at = micros(s.after());
        if (at > elapsedMicros) {
          due = Math.min(due, at);
        }
      }
      return due;
    }

    /** Until a later stage opens (see {@link EndpointSettings#decisiveUntil}). */
    @Override
    public long decisiveUntilMicros(int modelIndex) {
      return micros(endpoint.decisiveUntil(endpoint.models().get(modelIndex)));
    }
  }

  private static long micros(Duration d) {
    return d.toNanos() / 1_000;
  }
}

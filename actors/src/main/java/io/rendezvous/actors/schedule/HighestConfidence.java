package io.rendezvous.actors.schedule;

import io.rendezvous.actors.EndpointSettings;
import io.rendezvous.workers.ModelPool;
import java.util.List;

/**
 * {@code policy = highest-confidence}: of the live models' scores in (see {@link LiveScores} for
 * when), the one whose top probability is highest; a tie goes to the earlier stage.
 */
public final class HighestConfidence implements DecisionPolicy {
  public static final String NAME = "highest-confidence";
  public static final HighestConfidence INSTANCE = new HighestConfidence();

  private HighestConfidence() {}

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Decider start(EndpointSettings endpoint) {
    return new LiveScores(endpoint) {
      @Override
      protected Decision.Answer choose(List<Integer> stages, List<ModelPool.Scored> scored) {
        int best = 0;
        for (int i = 1; i < scored.size(); i++) {
          if (confidence(scored.get(i).probabilities()[0])
              > confidence(scored.get(best).probabilities()[0])) {
            best = i;
          }
        }
        ModelPool.Scored s = scored.get(best);
        return new Decision.Answer(stages.get(best), s.model(), s.version(), s.probabilities()[0]);
      }
    };
  }

  @Override
  public String toString() {
    return NAME;
  }
}

package io.rendezvous.actors.schedule;

import io.rendezvous.actors.EndpointSettings;
import io.rendezvous.model.ModelRef;
import io.rendezvous.workers.ModelPool;
import java.util.List;

/**
 * {@code policy = ensemble-average}: the mean of the live models' probabilities in (see {@link
 * LiveScores} for when). The answer names no one model: its model is {@value #MODEL} and its
 * version the members averaged ({@code m1@1+m3@2}); its stage is -1.
 */
public final class EnsembleAverage implements DecisionPolicy {
  public static final String NAME = "ensemble-average";

  /** The model an ensemble answer is recorded as. */
  public static final String MODEL = "ensemble";

  public static final EnsembleAverage INSTANCE = new EnsembleAverage();

  private EnsembleAverage() {}

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Decider start(EndpointSettings endpoint) {
    return new LiveScores(endpoint) {
      @Override
      protected Decision.Answer choose(List<Integer> stages, List<ModelPool.Scored> scored) {
        float[] mean = new float[scored.get(0).probabilities()[0].length];
        StringBuilder members = new StringBuilder();
        for (ModelPool.Scored s : scored) {
          float[] p = s.probabilities()[0];
          for (int j = 0; j < mean.length && j < p.length; j++) {
            mean[j] += p[j] / scored.size();
          }
          if (members.length() > 0) {
            members.append('+');
          }
          members.append(ModelRef.of(s.model(), s.version()));
        }
        return new Decision.Answer(-1, MODEL, members.toString(), mean);
      }
    };
  }

  @Override
  public String toString() {
    return NAME;
  }
}

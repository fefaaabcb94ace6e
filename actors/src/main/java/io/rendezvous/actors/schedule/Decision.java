package io.rendezvous.actors.schedule;

import java.util.Arrays;
import java.util.Objects;

/**
 * What a {@link Decider} made of one request. Only the decision: what the client is then sent (200,
 * 503, 504) and how is the entity's and its {@code RequestStory}'s business, because delivery is
 * about to change and the rules that choose the answer should not have to change with it.
 */
public sealed interface Decision {

  /**
   * The answer is this model's score. {@code stage} is the schedule index that chose it (-1 for a
   * policy whose answer is not one stage's).
   */
  record Answer(int stage, String model, String version, float[] probabilities)
      implements Decision {
    public Answer {
      probabilities = probabilities.clone();
    }

    @Override
    public float[] probabilities() {
      return probabilities.clone();
    }

    // by value, arrays included, so that a table of expected decisions can be compared whole
    @Override
    public boolean equals(Object o) {
      return o instanceof Answer a
          && stage == a.stage
          && Objects.equals(model, a.model)
          && Objects.equals(version, a.version)
          && Arrays.equals(probabilities, a.probabilities);
    }

    @Override
    public int hashCode() {
      return Objects.hash(stage, model, version, Arrays.hashCode(probabilities));
    }

    @Override
    public String toString() {
      return "Answer[stage="
          + stage
          + ", model="
          + model
          + ", version="
          + version
          + ", probabilities="
          + Arrays.toString(probabilities)
          + "]";
    }
  }

  /** Every model that could have answered will not (failed, overloaded, no worker). */
  record AllFailed(String why) implements Decision {}

  /**
   * Nothing could be chosen by the decision deadline ({@code sla - journal-margin}) and its
   * delivery grace.
   */
  record NoAnswerByDeadline(String why) implements Decision {}
}

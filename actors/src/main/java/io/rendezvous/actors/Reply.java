package io.rendezvous.actors;

import io.rendezvous.config.CborSerializable;
import java.util.List;

/**
 * A request entity's answer to its client: a {@link Prediction} or a {@link Rejected}. Never a
 * command. Every edge (HTTP, Kafka, the bench) renders these the same way.
 */
public sealed interface Reply extends CborSerializable {
  String requestId();

  /** What one model said (or did not) by the time the answer was chosen. */
  public record ModelScore(
      String model,
      String version,
      String outcome,
      String label,
      float[] probabilities,
      long arrivalMicros,
      long inferenceMicros,
      String error) {
    public ModelScore {
      probabilities = probabilities == null ? null : probabilities.clone();
    }

    @Override
    public float[] probabilities() {
      return probabilities == null ? null : probabilities.clone();
    }
  }

  /** The chosen answer: model, version, the stage that chose it, label and probabilities. */
  public record Prediction(
      String requestId,
      String clientId,
      String endpoint,
      String node,
      String model,
      String version,
      int stage,
      String label,
      int labelIndex,
      float[] probabilities,
      long decidedMicros,
      List<ModelScore> scores,
      long deliveredLateMicros)
      implements Reply {
    public Prediction {
      probabilities = probabilities.clone();
      scores = List.copyOf(scores);
    }

    /** The same answer, delivered {@code lateMicros} after the SLA (its journal confirmed late). */
    public Prediction deliveredLate(long lateMicros) {
      return new Prediction(
          requestId,
          clientId,
          endpoint,
          node,
          model,
          version,
          stage,
          label,
          labelIndex,
          probabilities,
          decidedMicros,
          scores,
          lateMicros);
    }

    @Override
    public float[] probabilities() {
      return probabilities.clone();
    }
  }

  /**
   * No answer: HTTP-style status (400, 404, 409, 503, 504) and why. {@code forLoad}: refused for
   * load or an outage that passes (models overloaded or away, no decision by the deadline, a
   * journal that could not take or confirm the answer), so the same request may be answered if it
   * comes again; a stream retries these instead of giving up on the record. Otherwise the request
   * itself is at fault or a model truly failed on it.
   */
  public record Rejected(String requestId, int status, String error, boolean forLoad)
      implements Reply {
    /** A rejection that coming again would not change (bad input, a model that fails on it). */
    public Rejected(String requestId, int status, String error) {
      this(requestId, status, error, false);
    }
  }
}

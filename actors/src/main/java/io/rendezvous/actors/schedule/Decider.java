package io.rendezvous.actors.schedule;

import io.rendezvous.actors.EndpointSettings;
import io.rendezvous.workers.ModelPool;

/**
 * The rules of one request, as a plain mutable object its entity owns (made by {@link
 * DecisionPolicy#start}): it is told each model's result and asked, at a time on the request's
 * clock (microseconds from the request's start, which for a fallback lies before the entity's own),
 * whether the answer is decided. No actor, no timer, no journal: the entity keeps those, and these
 * rules can be tested as a table of cases.
 */
public interface Decider {

  /**
   * What model {@code modelIndex} (its index in the endpoint's {@code models}) returned; at most
   * once per model.
   */
  void record(int modelIndex, ModelPool.ScoreResult result);

  /**
   * The decision by {@code elapsedMicros}, from the results recorded so far; {@code null} while
   * there is none yet. Once it returned a decision the entity asks no more.
   */
  Decision decide(long elapsedMicros);

  /**
   * When {@link #decide} may next decide otherwise with no further result, {@code elapsedMicros}
   * being when it was last asked (that time, not a later one: what fell due in between would be
   * skipped). The entity arms its one timer for it. {@code Long.MAX_VALUE} when nothing is due; a
   * time already passed means "at once".
   */
  long nextDueMicros(long elapsedMicros);

  /**
   * Until when after the request's start a score of model {@code modelIndex} can still decide the
   * answer: its pool puts the requests whose scores still count first.
   */
  long decisiveUntilMicros(int modelIndex);

  /** Failed or overloaded (no worker counts as failed): this model will not answer this request. */
  static boolean willNotAnswer(ModelPool.ScoreResult r) {
    return r instanceof ModelPool.Failed || r instanceof ModelPool.Overloaded;
  }

  /** The reason a result gives, as the journal and the replies state it. */
  static String reasonOf(ModelPool.ScoreResult r) {
    if (r instanceof ModelPool.Failed f) {
      return f.reason();
    }
    return r instanceof ModelPool.Overloaded ? "overloaded" : "scored";
  }

  /**
   * Past the decision deadline with no live score in and some live model still to answer: nothing
   * yet ({@code null}) while the endpoint's delivery grace runs, since the first live score to come
   * is still an answer (delivered late and counted); after it, {@link Decision.NoAnswerByDeadline}.
   */
  static Decision noLiveScoreBy(EndpointSettings endpoint, long elapsedMicros, String which) {
    if (elapsedMicros < LiveScores.micros(endpoint.lastDecisionDeadline())) {
      return null;
    }
    long grace = endpoint.deliveryGrace().toMillis();
    return new Decision.NoAnswerByDeadline(
        "no "
            + which
            + " model answered within the SLA of "
            + endpoint.sla().toMillis()
            + " ms"
            + (grace > 0 ? " and the delivery grace of " + grace + " ms" : ""));
  }

  /**
   * When the deadlines are next due after {@code elapsedMicros}: the decision deadline, or once it
   * has passed, the end of the delivery grace (a deadline already passed counts: "at once").
   */
  static long deadlineDueMicros(EndpointSettings endpoint, long elapsedMicros) {
    long decision = LiveScores.micros(endpoint.decisionDeadline());
    return elapsedMicros < decision ? decision : LiveScores.micros(endpoint.lastDecisionDeadline());
  }
}

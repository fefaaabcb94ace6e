package io.rendezvous.actors.schedule;

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
}

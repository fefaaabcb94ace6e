package io.rendezvous.actors;

import io.rendezvous.actors.Reply.ModelScore;
import io.rendezvous.actors.Reply.Prediction;
import io.rendezvous.actors.Reply.Rejected;
import io.rendezvous.actors.schedule.Decider;
import io.rendezvous.actors.schedule.Decision;
import io.rendezvous.journal.Journal;
import io.rendezvous.journal.JournalRecord;
import io.rendezvous.journal.JournalRecord.Outcome;
import io.rendezvous.model.ModelRef;
import io.rendezvous.model.Probabilities;
import io.rendezvous.workers.ModelPool;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * The journal records and the replies of one request, from what its models returned and when, on
 * the request's clock (microseconds from its start, which for a fallback lies before its entity's).
 * A plain object its entity owns; the entity offers the records and sends the replies. What the
 * client is sent for a {@link Decision} (200, 503, 504), and that a decided answer goes out only
 * once the journal holds it, is settled here rather than in the decision policy: delivery is what
 * changes next, and the rules that choose the answer should not change with it.
 */
final class RequestStory {

  /** What the client is told, and the answer record that says so (null when already journaled). */
  record Told(JournalRecord.Answer record, Reply reply, long lateMicros) {
    Told(JournalRecord.Answer record, Reply reply) {
      this(record, reply, 0);
    }
  }

  private final String requestId;
  private final String clientId;
  private final String node;
  private final EndpointSettings endpoint;
  private final LongSupplier clock;
  private final long startNanos;
  // per model of the endpoint (same index as endpoint.models()): what came back, and when
  private final ModelPool.ScoreResult[] results;
  private final long[] arrivalMicros;
  private long decidedMicros;
  // the decided answer and its record, until the journal has confirmed the record
  private Reply pending;
  private JournalRecord.Answer pendingRecord;
  // the label answered and the live member that gave it, for the canaries (-1: no answer)
  private int answeredLabel = -1;
  private String answeredBy;

  /**
   * The story of request {@code requestId} as {@code predict} brought it, its clock started as long
   * before now as the request already waited; {@code clock} reads nanoseconds like {@link
   * System#nanoTime()}.
   */
  RequestStory(
      String requestId,
      RendezvousEntity.Predict predict,
      String node,
      EndpointSettings endpoint,
      LongSupplier clock) {
    this.requestId = requestId;
    this.clientId = predict.request().clientId();
    this.node = node;
    this.endpoint = endpoint;
    this.clock = clock;
    this.startNanos = clock.getAsLong() - predict.startOffsetMicros() * 1_000;
    this.results = new ModelPool.ScoreResult[endpoint.models().size()];
    this.arrivalMicros = new long[endpoint.models().size()];
  }

  /** Another client's request under an id that is taken (or this one's, finished and stopped). */
  static Rejected idInUse(String requestId) {
    return new Rejected(requestId, 409, "request id " + requestId + " is already in use");
  }

  /** Why {@code request} is refused before any model sees it (no such endpoint, wrong input). */
  static Rejected refusal(RendezvousEntity.Request request, EndpointSettings endpoint) {
    if (endpoint == null) {
      return new Rejected(request.requestId(), 404, "no endpoint '" + request.endpoint() + "'");
    }
    String mismatch = endpoint.input().mismatch(request.input());
    return mismatch == null
        ? null
        : new Rejected(request.requestId(), 400, "input has " + mismatch);
  }

  EndpointSettings endpoint() {
    return endpoint;
  }

  /** When the reply is due, on the request's clock. */
  long slaMicros() {
    return endpoint.sla().toNanos() / 1_000;
  }

  /**
   * How long a decided answer waits for the journal's confirmation at most, on the request's clock:
   * the SLA and the endpoint's delivery grace.
   */
  long deliveryDeadlineMicros() {
    return slaMicros() + endpoint.deliveryGrace().toNanos() / 1_000;
  }

  /** How long late scores are still recorded after the reply. */
  long lingerMicros() {
    return endpoint.linger().toNanos() / 1_000;
  }

  /** Microseconds since the request's start. */
  long elapsedMicros() {
    return (clock.getAsLong() - startNanos) / 1_000;
  }

  JournalRecord.Input input(RendezvousEntity.Request request) {
    return new JournalRecord.Input(
        requestId,
        clientId,
        node,
        endpoint.name(),
        request.acceptedAtMicros(),
        request.source(),
        request.sourceSha256(),
        request.input(),
        request.traceparent());
  }

  /**
   * Takes a model's result, come now; returns the model's index, or -1 when it is no model of the
   * endpoint or the model already has its result.
   */
  int arrived(ModelPool.ScoreResult r) {
    int i = endpoint.memberIndex(r.model(), r.version());
    if (i < 0 || results[i] != null) {
      return -1;
    }
    results[i] = r;
    arrivalMicros[i] = elapsedMicros();
    return i;
  }

  long arrivalMicros(int i) {
    return arrivalMicros[i];
  }

  /** Every model has its result (or was abandoned). */
  boolean complete() {
    for (ModelPool.ScoreResult r : results) {
      if (r == null) {
        return false;
      }
    }
    return true;
  }

  /** The score record of model {@code i}; a score after the answer was decided is late. */
  JournalRecord.Score score(int i, boolean afterTheDecision) {
    ModelPool.ScoreResult r = results[i];
    Outcome outcome;
    float[] p = null;
    long inference = 0;
    String error = null;
    if (r instanceof ModelPool.Scored s) {
      outcome = afterTheDecision ? Outcome.LATE : Outcome.OK;
      p = s.probabilities()[0];
      inference = s.inferenceMicros();
    } else {
      outcome = r instanceof ModelPool.Overloaded ? Outcome.OVERLOADED : Outcome.FAILED;
      error = Decider.reasonOf(r);
    }
    return new JournalRecord.Score(
        requestId,
        node,
        endpoint.name(),
        JournalRecord.nowMicros(),
        r.model(),
        r.version(),
        outcome,
        arrivalMicros[i],
        inference,
        p,
        error,
        endpoint.role(i).wireName());
  }

  /**
   * Gives up on every model still missing: each counts as failed from now on, and its abandoned
   * record goes to {@code journal}.
   */
  void abandonMissing(String why, Consumer<JournalRecord> journal) {
    for (int i = 0; i < results.length; i++) {
      if (results[i] == null) {
        ModelRef member = ModelRef.parse(endpoint.models().get(i));
        results[i] = new ModelPool.Failed(requestId, member.name(), member.version(), why);
        journal.accept(
            new JournalRecord.Score(
                requestId,
                node,
                endpoint.name(),
                JournalRecord.nowMicros(),
                member.name(),
                member.version(),
                Outcome.ABANDONED,
                elapsedMicros(),
                0,
                null,
                why,
                endpoint.role(i).wireName()));
      }
    }
  }

  /**
   * The answer record for {@code decision}, decided now: an answer is a 200, every model failed a
   * 503, nothing by the deadline a 504. Its reply waits for {@link #confirmed}.
   */
  JournalRecord.Answer decided(Decision decision) {
    decidedMicros = elapsedMicros();
    Told told;
    if (decision instanceof Decision.Answer a) {
      told = answered(a);
    } else if (decision instanceof Decision.AllFailed f) {
      told = rejected(503, f.why(), decidedMicros, anyRefusedForLoad());
    } else if (decision instanceof Decision.NoAnswerByDeadline n) {
      told = rejected(504, n.why(), decidedMicros, true);
    } else {
      throw new IllegalArgumentException("no reply for " + decision);
    }
    pending = told.reply();
    pendingRecord = told.record();
    return told.record();
  }

  /**
   * What the client is told once the journal acknowledged the answer record, {@code
   * failedSinceInput} records having failed since the input was offered: the decided reply, or a
   * 503 when the journal did not write the answer or may not hold the input.
   */
  Told confirmed(Journal.Ack ack, long failedSinceInput) {
    if (ack instanceof Journal.NotWritten nw) {
      return notSent("journal could not record the answer: " + nw.reason());
    }
    if (failedSinceInput != 0) {
      return notSent(
          "journal may not hold the input: "
              + failedSinceInput
              + " record(s) it took since the input was offered could not be written");
    }
    Reply reply = pending;
    pending = null;
    long late = elapsedMicros() - slaMicros();
    if (late <= 0 || !(reply instanceof Prediction p)) {
      // a refusal decided late (nothing within the delivery grace) is no late answer
      return new Told(null, reply);
    }
    // confirmed after the SLA: delivered all the same, and a second answer record says when and
    // why (the last answer record of a request is what its client got)
    boolean decidedLate = decidedMicros > endpoint.decisionDeadline().toNanos() / 1_000;
    String note =
        String.format(
            Locale.ROOT,
            decidedLate
                ? "delivered %.1f ms after the SLA of %d ms: no live model had answered by the"
                    + " decision deadline; decided at %.1f ms, on the first live score to come"
                : "delivered %.1f ms after the SLA of %d ms: the journal confirmed the answer late"
                    + " (decided at %.1f ms)",
            late / 1000.0,
            endpoint.sla().toMillis(),
            decidedMicros / 1000.0);
    JournalRecord.Answer second = pendingRecord.noted(JournalRecord.nowMicros(), note);
    return new Told(second, p.deliveredLate(late), late);
  }

  /**
   * The journal has not confirmed the answer by the SLA: a 503. When it was decided says where the
   * time went, since a late decision leaves the journal little of the SLA.
   */
  Told notConfirmedWithinSla() {
    long grace = endpoint.deliveryGrace().toMillis();
    return notSent(
        String.format(
            Locale.ROOT,
            "journal did not confirm the answer within the SLA of %d ms%s (answer decided at %.1f"
                + " ms, %.1f ms waited)",
            endpoint.sla().toMillis(),
            grace > 0 ? " and the delivery grace of " + grace + " ms" : "",
            decidedMicros / 1000.0,
            (elapsedMicros() - decidedMicros) / 1000.0));
  }

  /**
   * The journal refuses records (its queue is full, or it cannot write): a 503, with no record,
   * since the journal would not take one.
   */
  Told journalRefused(Journal journal) {
    pending = null;
    String why = journal.unwritableReason();
    return new Told(
        null,
        new Rejected(
            requestId,
            503,
            "journal unavailable: " + (why != null ? why : "its queue is full"),
            true));
  }

  /**
   * The decided answer cannot go out: a 503, and a second answer record that says so, since for a
   * request's story the last answer record is what the client got.
   */
  private Told notSent(String why) {
    pending = null;
    return rejected(503, why, elapsedMicros(), true);
  }

  /**
   * Compares canary {@code i} with the answer, once both are in: at the decision for the canaries
   * that came before it, at their arrival for those that come later.
   */
  void compareCanary(int i, CanaryComparison comparison) {
    if (answeredLabel < 0
        || endpoint.role(i) != EndpointSettings.Role.CANARY
        || !(results[i] instanceof ModelPool.Scored s)) {
      return;
    }
    comparison.record(
        endpoint.name(),
        endpoint.models().get(i),
        answeredBy,
        answeredLabel,
        Probabilities.argmax(s.probabilities()[0]));
  }

  /** {@link #compareCanary} for every canary already in. */
  void compareCanaries(CanaryComparison comparison) {
    for (int i = 0; i < results.length; i++) {
      compareCanary(i, comparison);
    }
  }

  private Told answered(Decision.Answer a) {
    float[] p = a.probabilities();
    int labelIndex = Probabilities.argmax(p);
    answeredLabel = labelIndex;
    answeredBy = ModelRef.of(a.model(), a.version());
    String label = labelName(labelIndex);
    return new Told(
        new JournalRecord.Answer(
            requestId,
            clientId,
            node,
            endpoint.name(),
            JournalRecord.nowMicros(),
            200,
            a.model(),
            a.version(),
            a.stage(),
            label,
            p,
            decidedMicros,
            null,
            endpoint.generation(),
            endpoint.policy().name()),
        new Prediction(
            requestId,
            clientId,
            endpoint.name(),
            node,
            a.model(),
            a.version(),
            a.stage(),
            label,
            labelIndex,
            p,
            decidedMicros,
            scoresSoFar(),
            0));
  }

  /** A first answer record says when it was decided; a second one, when the 503 replaced it. */
  private Told rejected(int status, String why, long atMicros, boolean forLoad) {
    return new Told(
        new JournalRecord.Answer(
            requestId,
            clientId,
            node,
            endpoint.name(),
            JournalRecord.nowMicros(),
            status,
            null,
            null,
            -1,
            null,
            null,
            atMicros,
            why,
            endpoint.generation(),
            endpoint.policy().name()),
        new Rejected(requestId, status, why, forLoad));
  }

  /**
   * Whether a model was refused for load or had no worker anywhere (a node away, a model being
   * deployed): the same request may be answered later. Failures of a model on the input are not.
   */
  private boolean anyRefusedForLoad() {
    for (ModelPool.ScoreResult r : results) {
      if (r instanceof ModelPool.Overloaded || (r instanceof ModelPool.Failed f && f.noWorker())) {
        return true;
      }
    }
    return false;
  }

  private List<ModelScore> scoresSoFar() {
    List<ModelScore> out = new ArrayList<>(results.length);
    for (int i = 0; i < results.length; i++) {
      ModelPool.ScoreResult r = results[i];
      String model = ModelRef.parse(endpoint.models().get(i)).name();
      if (r == null) {
        out.add(new ModelScore(model, null, "pending", null, null, -1, 0, null));
      } else if (r instanceof ModelPool.Scored s) {
        float[] p = s.probabilities()[0];
        out.add(
            new ModelScore(
                model,
                s.version(),
                Outcome.OK.wireName(),
                labelName(Probabilities.argmax(p)),
                p,
                arrivalMicros[i],
                s.inferenceMicros(),
                null));
      } else {
        out.add(
            new ModelScore(
                model,
                r.version(),
                r instanceof ModelPool.Overloaded
                    ? Outcome.OVERLOADED.wireName()
                    : Outcome.FAILED.wireName(),
                null,
                null,
                arrivalMicros[i],
                0,
                Decider.reasonOf(r)));
      }
    }
    return out;
  }

  private String labelName(int index) {
    List<String> labels = endpoint.labels();
    return index < labels.size() ? labels.get(index) : Integer.toString(index);
  }
}

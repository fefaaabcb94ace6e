package io.rendezvous.journal;

import io.rendezvous.model.TensorData;

/**
 * What the decoy journal holds. Every record carries the schema version, the request id (the entity
 * key and the Kafka key), the node that wrote it, the endpoint and a wall-clock time in epoch
 * microseconds. Arrays are copied in; records are immutable.
 */
public sealed interface JournalRecord {
  int SCHEMA_VERSION = 1;

  String requestId();

  String node();

  String endpoint();

  long atMicros();

  /**
   * "input", "score", "answer", "feedback" or "lifecycle": the record's kind on disk and in
   * acknowledgements.
   */
  String type();

  /**
   * The input exactly as the models saw it, accepted at {@code atMicros}. {@code traceparent}: the
   * request's W3C trace context as this node continued it (null in records written before traces
   * were kept).
   */
  record Input(
      String requestId,
      String clientId,
      String node,
      String endpoint,
      long atMicros,
      String source,
      String sourceSha256,
      TensorData tensor,
      String traceparent)
      implements JournalRecord {
    public static final String TYPE = "input";

    /** An input with no trace context. */
    public Input(
        String requestId,
        String clientId,
        String node,
        String endpoint,
        long atMicros,
        String source,
        String sourceSha256,
        TensorData tensor) {
      this(requestId, clientId, node, endpoint, atMicros, source, sourceSha256, tensor, null);
    }

    @Override
    public String type() {
      return TYPE;
    }
  }

  /**
   * What a score means for the request: used for the answer, late, failed, refused, or never came.
   */
  enum Outcome {
    OK,
    LATE,
    FAILED,
    OVERLOADED,
    ABANDONED;

    public String wireName() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /**
   * One per (request, model). {@code arrivalMicros} is measured from the moment the entity received
   * the request (the schedule's zero), so the journal alone can replay every decision. {@code
   * role}: what the model was to the endpoint then, live, shadow or canary (null in records written
   * before roles were recorded).
   */
  record Score(
      String requestId,
      String node,
      String endpoint,
      long atMicros,
      String model,
      String version,
      Outcome outcome,
      long arrivalMicros,
      long inferenceMicros,
      float[] probabilities,
      String error,
      String role)
      implements JournalRecord {
    public static final String TYPE = "score";

    /** A score whose role is not recorded. */
    public Score(
        String requestId,
        String node,
        String endpoint,
        long atMicros,
        String model,
        String version,
        Outcome outcome,
        long arrivalMicros,
        long inferenceMicros,
        float[] probabilities,
        String error) {
      this(
          requestId,
          node,
          endpoint,
          atMicros,
          model,
          version,
          outcome,
          arrivalMicros,
          inferenceMicros,
          probabilities,
          error,
          null);
    }

    @Override
    public String type() {
      return TYPE;
    }

    public Score {
      probabilities = probabilities == null ? null : probabilities.clone();
    }

    @Override
    public float[] probabilities() {
      return probabilities == null ? null : probabilities.clone();
    }
  }

  /**
   * The one answer for the request. {@code stage} is the schedule index that chose it (-1 when no
   * model did); {@code decidedMicros} is when the decision fell, from the schedule's zero; {@code
   * status} is the HTTP-style status the client got. {@code generation}: the endpoint table's
   * generation the request was served under (0 when not recorded); {@code policy}: the selection
   * policy that decided (null when not recorded).
   */
  /** Wall-clock time for a record's {@code atMicros}, in microseconds since the epoch. */
  static long nowMicros() {
    java.time.Instant now = java.time.Instant.now();
    return now.getEpochSecond() * 1_000_000 + now.getNano() / 1_000;
  }

  record Answer(
      String requestId,
      String clientId,
      String node,
      String endpoint,
      long atMicros,
      int status,
      String model,
      String version,
      int stage,
      String label,
      float[] probabilities,
      long decidedMicros,
      String error,
      long generation,
      String policy)
      implements JournalRecord {
    public static final String TYPE = "answer";

    /** An answer whose endpoint generation and policy are not recorded. */
    public Answer(
        String requestId,
        String clientId,
        String node,
        String endpoint,
        long atMicros,
        int status,
        String model,
        String version,
        int stage,
        String label,
        float[] probabilities,
        long decidedMicros,
        String error) {
      this(
          requestId,
          clientId,
          node,
          endpoint,
          atMicros,
          status,
          model,
          version,
          stage,
          label,
          probabilities,
          decidedMicros,
          error,
          0,
          null);
    }

    @Override
    public String type() {
      return TYPE;
    }

    public Answer {
      probabilities = probabilities == null ? null : probabilities.clone();
    }

    /**
     * The same answer recorded again at {@code atMicros} with {@code note} added to its error: a
     * second answer record, saying what became of the first (delivered late).
     */
    public Answer noted(long atMicros, String note) {
      return new Answer(
          requestId,
          clientId,
          node,
          endpoint,
          atMicros,
          status,
          model,
          version,
          stage,
          label,
          probabilities,
          decidedMicros,
          error != null ? error + "; " + note : note,
          generation,
          policy);
    }

    @Override
    public float[] probabilities() {
      return probabilities == null ? null : probabilities.clone();
    }
  }

  /**
   * A correction ("that answer was wrong, it is {@code label}") joined to the request's story as
   * this node's journal held it: the input exactly as the models saw it, every model's score (late
   * and abandoned ones too) and the answer the client got (null when no answer record was found).
   * {@code requestId} is the corrected request's; {@code node} the node whose journal held the
   * story and wrote this record; {@code receivedBy} the node the client sent the correction to;
   * {@code source} who said it (one correction per request and source); {@code labelIndex} the
   * label's index among the answering model's labels; {@code atMicros} when it was joined.
   */
  record Feedback(
      String requestId,
      String node,
      String endpoint,
      long atMicros,
      String source,
      String label,
      int labelIndex,
      String receivedBy,
      Input input,
      java.util.List<Score> scores,
      Answer answer)
      implements JournalRecord {
    public static final String TYPE = "feedback";

    public Feedback {
      scores = java.util.List.copyOf(scores);
    }

    @Override
    public String type() {
      return TYPE;
    }
  }

  /**
   * A change in what the node serves, so that every answer can be explained by the journal alone:
   * {@code event} is {@code version-ready}, {@code version-failed}, {@code version-retired} (of
   * {@code model} {@code version}) or {@code endpoint-changed} (of {@code endpoint}, in table
   * generation {@code generation}); {@code detail} says what it became or why. Its {@code
   * requestId} is the event's own id. Kept in the journal, not mirrored to the request topics.
   */
  record Lifecycle(
      String requestId,
      String node,
      String endpoint,
      long atMicros,
      String event,
      String model,
      String version,
      long generation,
      String detail)
      implements JournalRecord {
    public static final String TYPE = "lifecycle";

    @Override
    public String type() {
      return TYPE;
    }
  }
}

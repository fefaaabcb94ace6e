package io.rendezvous.node.freshness;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rendezvous.actors.edge.Json;
import io.rendezvous.journal.JournalRecord;
import io.rendezvous.journal.JournalScan;
import io.rendezvous.model.ModelRef;
import io.rendezvous.model.TensorData;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Replays journaled inputs through model versions and compares what they say with what the journal
 * holds: the answers actually given, each version's own journaled scores, and the labels users gave
 * in corrections. One pass over each journal in append order, in constant memory: a request's input
 * waits (at most {@code joinWindow} of journal time) for its scores and answer, which follow it
 * within the SLA and the linger; corrections carry their input with them. Inputs are scored in
 * batches of {@code batch}. The freshness trainer judges candidates with the same code.
 */
public final class Replay {

  /**
   * What to replay: inputs written in [{@code fromMicros}, {@code toMicros}] (epoch µs), of {@code
   * endpoint} (null: all), a {@code sample} share of requests chosen by their id (1: all).
   */
  public record Options(
      List<Path> journals,
      long fromMicros,
      long toMicros,
      String endpoint,
      double sample,
      int batch,
      Duration joinWindow) {
    public Options {
      journals = List.copyOf(journals);
      if (!(sample > 0 && sample <= 1)) {
        throw new IllegalArgumentException("sample must be in (0, 1], not " + sample);
      }
      if (batch < 1) {
        throw new IllegalArgumentException("batch must be at least 1");
      }
    }

    boolean inRange(long atMicros) {
      return atMicros >= fromMicros && atMicros <= toMicros;
    }

    boolean sampled(String requestId) {
      return sample >= 1 || (requestId.hashCode() & 0x7fffffff) % 1_000_000 < sample * 1_000_000;
    }

    boolean endpointWanted(String e) {
      return endpoint == null || endpoint.equals(e);
    }
  }

  /** How far a replay is: journal time passed against the whole span, and inputs replayed. */
  @FunctionalInterface
  public interface Progress {
    void at(double fraction, long inputs, long feedback);
  }

  /** One version's figures. */
  public static final class Figures {
    final String version;
    long inputs;
    long[] labelMix = new long[0];
    long answersCompared;
    long agreeWithAnswers;
    long ownAnswers;
    long ownAnswersReproduced;
    long ownScoresCompared;
    long ownScoresSameLabel;
    double maxProbabilityDifference;
    long feedback;
    long feedbackCorrect;

    Figures(String version) {
      this.version = version;
    }

    public String version() {
      return version;
    }

    public long inputs() {
      return inputs;
    }

    public long feedback() {
      return feedback;
    }

    public long feedbackCorrect() {
      return feedbackCorrect;
    }

    /** Accuracy against the corrections' labels; NaN with none. */
    public double feedbackAccuracy() {
      return share(feedbackCorrect, feedback);
    }

    /** The share of the answers actually given that it would have given too; NaN with none. */
    public double agreement() {
      return share(agreeWithAnswers, answersCompared);
    }

    public long ownAnswers() {
      return ownAnswers;
    }

    public long ownAnswersReproduced() {
      return ownAnswersReproduced;
    }

    public long ownScoresCompared() {
      return ownScoresCompared;
    }

    public long ownScoresSameLabel() {
      return ownScoresSameLabel;
    }

    public double maxProbabilityDifference() {
      return maxProbabilityDifference;
    }

    public long[] labelMix() {
      return labelMix.clone();
    }

    void label(int top) {
      if (top >= labelMix.length) {
        labelMix = java.util.Arrays.copyOf(labelMix, top + 1);
      }
      labelMix[top]++;
    }
  }

  /** The whole replay's outcome. */
  public record Report(
      Options options,
      List<Figures> versions,
      List<String> labels,
      long recordsRead,
      long inputs,
      long feedback,
      long feedbackAnswered,
      long feedbackAnswersCorrect,
      long unreadable,
      long millis) {

    public ObjectNode toJson() {
      ObjectNode o = Json.object();
      o.put(
          "from",
          options.fromMicros() <= 0
              ? null
              : Instant.EPOCH.plusNanos(options.fromMicros() * 1_000).toString());
      o.put(
          "to",
          options.toMicros() == Long.MAX_VALUE
              ? null
              : Instant.EPOCH.plusNanos(options.toMicros() * 1_000).toString());
      o.put("endpoint", options.endpoint());
      o.put("sample", options.sample());
      o.put("records_read", recordsRead);
      o.put("inputs", inputs);
      o.put("feedback", feedback);
      putShare(o, "answers_accuracy_on_feedback", feedbackAnswersCorrect, feedbackAnswered);
      o.put("unreadable_records", unreadable);
      o.put("millis", millis);
      ArrayNode vs = o.putArray("versions");
      for (Figures f : versions) {
        ObjectNode v = vs.addObject();
        v.put("version", f.version);
        v.put("inputs", f.inputs);
        v.put("feedback", f.feedback);
        v.put("feedback_correct", f.feedbackCorrect);
        putShare(v, "feedback_accuracy", f.feedbackCorrect, f.feedback);
        v.put("answers_compared", f.answersCompared);
        putShare(v, "agreement_with_answers", f.agreeWithAnswers, f.answersCompared);
        v.put("own_answers", f.ownAnswers);
        v.put("own_answers_reproduced", f.ownAnswersReproduced);
        v.put("own_scores_compared", f.ownScoresCompared);
        v.put("own_scores_same_label", f.ownScoresSameLabel);
        v.put("max_probability_difference", f.maxProbabilityDifference);
        ObjectNode mix = v.putObject("label_mix");
        for (int i = 0; i < f.labelMix.length; i++) {
          mix.put(
              i < labels.size() ? labels.get(i) : Integer.toString(i),
              share(f.labelMix[i], f.inputs));
        }
      }
      return o;
    }

    /** One CSV row per version (a header first). */
    public String toCsv() {
      StringBuilder out =
          new StringBuilder(
              "version,inputs,feedback,feedback_correct,feedback_accuracy,answers_compared,"
                  + "agreement_with_answers,own_answers,own_answers_reproduced,own_scores_compared,"
                  + "own_scores_same_label,max_probability_difference");
      for (String l : labels) {
        out.append(",share_").append(csvName(l));
      }
      out.append('\n');
      for (Figures f : versions) {
        out.append(f.version)
            .append(',')
            .append(f.inputs)
            .append(',')
            .append(f.feedback)
            .append(',')
            .append(f.feedbackCorrect)
            .append(',')
            .append(csv(share(f.feedbackCorrect, f.feedback)))
            .append(',')
            .append(f.answersCompared)
            .append(',')
            .append(csv(share(f.agreeWithAnswers, f.answersCompared)))
            .append(',')
            .append(f.ownAnswers)
            .append(',')
            .append(f.ownAnswersReproduced)
            .append(',')
            .append(f.ownScoresCompared)
            .append(',')
            .append(f.ownScoresSameLabel)
            .append(',')
            .append(csv(f.maxProbabilityDifference));
        for (int i = 0; i < labels.size(); i++) {
          out.append(',').append(csv(share(i < f.labelMix.length ? f.labelMix[i] : 0, f.inputs)));
        }
        out.append('\n');
      }
      return out.toString();
    }

    private static String csvName(String label) {
      return label.replaceAll("[^A-Za-z0-9]+", "_");
    }

    private static String csv(double v) {
      return Double.isNaN(v) ? "" : String.format(java.util.Locale.ROOT, "%.6f", v);
    }

    private static void putShare(ObjectNode o, String key, long part, long whole) {
      if (whole > 0) {
        o.put(key, (double) part / whole);
      } else {
        o.putNull(key);
      }
    }
  }

  static double share(long part, long whole) {
    return whole == 0 ? Double.NaN : (double) part / whole;
  }

  /** A journaled request waiting for its scores and answer, and (once scored) what each said. */
  private static final class Pending {
    final long atMicros;
    TensorData input;
    float[][] replayed;
    final float[][] journaled;
    int answerTop = -1;
    String answeredBy;

    Pending(long atMicros, TensorData input, int versions) {
      this.atMicros = atMicros;
      this.input = input;
      this.journaled = new float[versions][];
    }
  }

  private final Options options;
  private final List<VersionScorer> scorers;
  private final List<Figures> figures = new ArrayList<>();
  private final LinkedHashMap<String, Pending> pending = new LinkedHashMap<>();
  private final List<Pending> toScore = new ArrayList<>();
  private final List<JournalRecord.Feedback> feedbackToScore = new ArrayList<>();
  private long recordsRead;
  private long inputs;
  private long feedback;
  private long feedbackAnswered;
  private long feedbackAnswersCorrect;

  private Replay(Options options, List<VersionScorer> scorers) {
    this.options = options;
    this.scorers = scorers;
    for (VersionScorer s : scorers) {
      figures.add(new Figures(s.ref()));
    }
  }

  /**
   * Replays {@code options}' journals through {@code scorers}; {@code progress} hears of it about
   * every {@code progressEvery} records.
   */
  public static Report run(Options options, List<VersionScorer> scorers, Progress progress) {
    if (scorers.isEmpty()) {
      throw new IllegalArgumentException("no model version to replay through");
    }
    long start = System.nanoTime();
    Replay r = new Replay(options, scorers);
    long unreadable = 0;
    // the span each journal covers, for the progress fraction
    long[][] spans = new long[options.journals().size()][];
    long total = 0;
    for (int j = 0; j < spans.length; j++) {
      try (JournalScan scan = JournalScan.open(options.journals().get(j))) {
        long first = Math.max(scan.firstMicros(), options.fromMicros());
        long last = scan.lastMicros();
        spans[j] = new long[] {first, Math.max(first, last)};
        total += Math.max(0, last - first);
      }
    }
    long done = 0;
    for (int j = 0; j < spans.length; j++) {
      long before = done;
      long spanStart = spans[j][0];
      long all = Math.max(1, total);
      try (JournalScan scan = JournalScan.open(options.journals().get(j))) {
        unreadable +=
            scan.forEach(
                options.fromMicros(),
                (type, endpoint, at) -> r.wants(type, endpoint, at),
                r::take,
                at -> {
                  if (++r.recordsRead % 4096 == 0) {
                    progress.at(
                        Math.min(1.0, (before + Math.max(0, at - spanStart)) / (double) all),
                        r.inputs,
                        r.feedback);
                  }
                });
      }
      r.finishAll();
      done += spans[j][1] - spans[j][0];
    }
    progress.at(1.0, r.inputs, r.feedback);
    List<String> labels = scorers.get(0).labels();
    return new Report(
        options,
        List.copyOf(r.figures),
        labels,
        r.recordsRead,
        r.inputs,
        r.feedback,
        r.feedbackAnswered,
        r.feedbackAnswersCorrect,
        unreadable,
        (System.nanoTime() - start) / 1_000_000);
  }

  private boolean wants(String type, String endpoint, long at) {
    if (!options.endpointWanted(endpoint)) {
      return false;
    }
    return switch (type) {
      case JournalRecord.Input.TYPE -> options.inRange(at);
      case JournalRecord.Score.TYPE, JournalRecord.Answer.TYPE -> !pending.isEmpty();
      case JournalRecord.Feedback.TYPE -> true;
      default -> false;
    };
  }

  private void take(JournalRecord record) {
    if (record instanceof JournalRecord.Input in) {
      if (options.sampled(in.requestId()) && isOneInstance(in.tensor())) {
        Pending p = new Pending(in.atMicros(), in.tensor(), scorers.size());
        pending.put(in.requestId(), p);
        toScore.add(p);
        inputs++;
        if (toScore.size() >= options.batch()) {
          scorePending();
        }
      }
    } else if (record instanceof JournalRecord.Score s) {
      Pending p = pending.get(s.requestId());
      float[] probabilities = s.probabilities();
      if (p != null && probabilities != null) {
        for (int k = 0; k < scorers.size(); k++) {
          VersionScorer v = scorers.get(k);
          if (v.name().equals(s.model()) && v.version().equals(s.version())) {
            p.journaled[k] = probabilities;
          }
        }
      }
    } else if (record instanceof JournalRecord.Answer a) {
      Pending p = pending.get(a.requestId());
      float[] probabilities = a.probabilities();
      if (p != null && a.status() == 200 && probabilities != null && p.answerTop < 0) {
        p.answerTop = VersionScorer.top(probabilities);
        p.answeredBy = ModelRef.of(a.model(), a.version());
      }
    } else if (record instanceof JournalRecord.Feedback f) {
      JournalRecord.Input in = f.input();
      if (in != null
          && options.inRange(in.atMicros())
          && options.sampled(f.requestId())
          && isOneInstance(in.tensor())) {
        feedbackToScore.add(f);
        if (feedbackToScore.size() >= options.batch()) {
          scoreFeedback();
        }
      }
    }
    finishOlderThan(record.atMicros() - options.joinWindow().toNanos() / 1_000);
  }

  private static boolean isOneInstance(TensorData t) {
    return t != null && t.shape().length >= 1 && t.shape()[0] == 1;
  }

  private void scorePending() {
    if (toScore.isEmpty()) {
      return;
    }
    List<TensorData> batch = new ArrayList<>(toScore.size());
    for (Pending p : toScore) {
      batch.add(p.input);
      p.replayed = new float[scorers.size()][];
    }
    for (int k = 0; k < scorers.size(); k++) {
      List<float[]> rows = scorers.get(k).score(batch);
      for (int i = 0; i < toScore.size(); i++) {
        toScore.get(i).replayed[k] = rows.get(i);
      }
    }
    for (Pending p : toScore) {
      p.input = null; // the bytes are no longer needed: only the rows are compared
    }
    toScore.clear();
  }

  private void scoreFeedback() {
    if (feedbackToScore.isEmpty()) {
      return;
    }
    List<TensorData> batch = new ArrayList<>(feedbackToScore.size());
    for (JournalRecord.Feedback f : feedbackToScore) {
      batch.add(f.input().tensor());
      feedback++;
      JournalRecord.Answer a = f.answer();
      if (a != null && a.status() == 200 && a.probabilities() != null) {
        feedbackAnswered++;
        if (VersionScorer.top(a.probabilities()) == f.labelIndex()) {
          feedbackAnswersCorrect++;
        }
      }
    }
    for (int k = 0; k < scorers.size(); k++) {
      List<float[]> rows = scorers.get(k).score(batch);
      Figures fig = figures.get(k);
      for (int i = 0; i < rows.size(); i++) {
        fig.feedback++;
        if (VersionScorer.top(rows.get(i)) == feedbackToScore.get(i).labelIndex()) {
          fig.feedbackCorrect++;
        }
      }
    }
    feedbackToScore.clear();
  }

  private void finishOlderThan(long micros) {
    Iterator<Map.Entry<String, Pending>> it = pending.entrySet().iterator();
    while (it.hasNext()) {
      Pending p = it.next().getValue();
      if (p.atMicros >= micros) {
        return; // inputs are kept in journal order
      }
      if (p.replayed == null) {
        scorePending();
      }
      finish(p);
      it.remove();
    }
  }

  private void finishAll() {
    scorePending();
    scoreFeedback();
    for (Pending p : pending.values()) {
      finish(p);
    }
    pending.clear();
  }

  private void finish(Pending p) {
    for (int k = 0; k < scorers.size(); k++) {
      Figures f = figures.get(k);
      float[] mine = p.replayed[k];
      int top = VersionScorer.top(mine);
      f.inputs++;
      f.label(top);
      if (p.answerTop >= 0) {
        f.answersCompared++;
        if (top == p.answerTop) {
          f.agreeWithAnswers++;
        }
        if (scorers.get(k).ref().equals(p.answeredBy)) {
          f.ownAnswers++;
          if (top == p.answerTop) {
            f.ownAnswersReproduced++;
          }
        }
      }
      float[] journaled = p.journaled[k];
      if (journaled != null) {
        f.ownScoresCompared++;
        if (VersionScorer.top(journaled) == top) {
          f.ownScoresSameLabel++;
        }
        for (int i = 0; i < Math.min(journaled.length, mine.length); i++) {
          f.maxProbabilityDifference =
              Math.max(f.maxProbabilityDifference, Math.abs(journaled[i] - mine[i]));
        }
      }
    }
  }
}

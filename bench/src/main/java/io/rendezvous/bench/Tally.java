package io.rendezvous.bench;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.AtomicHistogram;
import org.HdrHistogram.Histogram;

/**
 * Counts and latencies (microseconds, from the intended send time in open-model runs) of one
 * connection in a run. The connections of a run share one latency histogram: at 3 significant
 * digits up to 120 s one takes about 140 KB, and one per connection made 36 MB of fresh live data
 * at the start of every 256-connection open run, in the JVM the nodes share; its first young
 * collections took 16-24 ms instead of 8-11, and most SLA misses of a run fell in its first
 * seconds.
 */
final class Tally {
  /** How much of a failed response's body a tally keeps as an example. */
  static final int SAMPLE_CHARS = 160;

  final Histogram latency;

  /**
   * How long after a connection was free to send a due request it was written (open model): the
   * load generator's own lag, which the latency includes. A wait for a free connection is not in it
   * (that is the server being slow). Shared by a run's connections like the latency.
   */
  final Histogram sendLag;

  long answered;
  long withinSla;

  /** Answered 200 within the SLA with the load generator's own lag ({@link #sendLag}) taken out. */
  long withinSlaFromWrite;

  final Map<String, Long> failures = new TreeMap<>();
  final Map<String, Long> stages = new TreeMap<>();

  /** The first response body seen for each kind of failure, cut short: what the server said. */
  final Map<String, String> samples = new TreeMap<>();

  Tally(Histogram latency, Histogram sendLag) {
    this.latency = latency;
    this.sendLag = sendLag;
  }

  /**
   * A histogram of microseconds up to 120 s that the connections of one run record into at once.
   */
  static Histogram sharedMicros() {
    return new AtomicHistogram(TimeUnit.SECONDS.toMicros(120), 3);
  }

  void add(Tally other) {
    if (other.latency != latency) {
      latency.add(other.latency);
    }
    if (other.sendLag != sendLag) {
      sendLag.add(other.sendLag);
    }
    answered += other.answered;
    withinSla += other.withinSla;
    withinSlaFromWrite += other.withinSlaFromWrite;
    other.failures.forEach((k, v) -> failures.merge(k, v, Long::sum));
    other.stages.forEach((k, v) -> stages.merge(k, v, Long::sum));
    other.samples.forEach(samples::putIfAbsent);
  }

  /**
   * One response, {@code micros} after it was due, {@code lagMicros} of which the generator's own:
   * only a 200 whose body has {@code marker} counts as answered; anything else is counted by its
   * status.
   */
  void record(int status, byte[] body, String marker, long micros, long lagMicros, long slaMicros) {
    if (status == 200 && HttpLoad.contains(body, marker)) {
      answered++;
      latency.recordValue(Math.min(micros, latency.getHighestTrackableValue()));
      if (micros <= slaMicros) {
        withinSla++;
      }
      if (micros - lagMicros <= slaMicros) {
        withinSlaFromWrite++;
      }
      String stage = HttpLoad.stageOf(body);
      if (stage != null) {
        stages.merge(stage, 1L, Long::sum);
      }
    } else {
      failed(status == 200 ? "200 with an unexpected body" : "status " + status, body);
    }
  }

  /** A failure of {@code kind}; the first of each kind keeps what the server said. */
  void failed(String kind, byte[] body) {
    failures.merge(kind, 1L, Long::sum);
    if (body != null && !samples.containsKey(kind)) {
      String text = new String(body, StandardCharsets.UTF_8);
      samples.put(
          kind, text.length() > SAMPLE_CHARS ? text.substring(0, SAMPLE_CHARS) + "..." : text);
    }
  }

  void recordLag(long lagMicros) {
    sendLag.recordValue(Math.max(0, Math.min(lagMicros, sendLag.getHighestTrackableValue())));
  }

  /** Failure counts, each with the first answer of its kind. */
  String describeFailures() {
    StringBuilder b = new StringBuilder(failures.toString());
    samples.forEach((k, v) -> b.append("; ").append(k).append(" e.g. ").append(v));
    return b.toString();
  }

  long failed() {
    return failures.values().stream().mapToLong(Long::longValue).sum();
  }
}

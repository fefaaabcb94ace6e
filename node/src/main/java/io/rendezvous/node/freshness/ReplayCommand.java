package io.rendezvous.node.freshness;

import io.rendezvous.actors.edge.Json;
import io.rendezvous.workers.ModelLoadException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code rendezvous replay}: journaled inputs of a time range (an endpoint, a sample) through
 * stored model versions, with per version its accuracy on the corrections' labels, its agreement
 * with the answers actually given and with its own journaled scores, and its label mix; a progress
 * bar with an ETA on the error stream; a JSON and a CSV report.
 */
@Command(
    name = "replay",
    mixinStandardHelpOptions = true,
    description =
        "Replay journaled inputs through model versions: accuracy against corrections, agreement"
            + " with the answers given, label mix.")
public final class ReplayCommand implements Callable<Integer> {
  @Option(
      names = {"--model", "-m"},
      required = true,
      paramLabel = "NAME[@VERSION]",
      description = "a stored version to replay through (repeatable; a name alone: its newest)")
  List<String> models;

  @Option(
      names = "--store",
      description = "the model store (default: $RENDEZVOUS_MODELS_DIR or models)")
  Path store;

  @Option(names = "--from", paramLabel = "INSTANT", description = "inputs from (ISO-8601)")
  Instant from;

  @Option(names = "--to", paramLabel = "INSTANT", description = "inputs until (ISO-8601)")
  Instant to;

  @Option(
      names = "--last",
      paramLabel = "DURATION",
      description = "inputs of the last DURATION before now (ISO-8601, e.g. PT1H)")
  Duration last;

  @Option(names = "--endpoint", description = "only this endpoint's requests")
  String endpoint;

  @Option(names = "--sample", description = "a share of the requests, chosen by id (default 1)")
  double sample = 1;

  @Option(names = "--batch", description = "inputs scored per call (default 64)")
  int batch = 64;

  @Option(
      names = "--join-window",
      description = "how long after its input a request's answer may come (default PT15S)")
  Duration joinWindow = Duration.ofSeconds(15);

  @Option(names = "--json", paramLabel = "FILE", description = "write the report as JSON")
  Path json;

  @Option(names = "--csv", paramLabel = "FILE", description = "write the report as CSV")
  Path csv;

  @Option(names = "--quiet", description = "no progress bar")
  boolean quiet;

  @Parameters(arity = "1..*", paramLabel = "JOURNAL_DIR", description = "journal directories")
  List<Path> journals;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    long fromMicros = 0;
    long toMicros = Long.MAX_VALUE;
    if (last != null) {
      fromMicros = micros(Instant.now().minus(last));
    }
    if (from != null) {
      fromMicros = micros(from);
    }
    if (to != null) {
      toMicros = micros(to);
    }
    Path storeDir = store;
    if (storeDir == null) {
      String env = System.getenv("RENDEZVOUS_MODELS_DIR");
      storeDir = Path.of(env == null || env.isBlank() ? "models" : env);
    }
    Replay.Options options;
    try {
      options =
          new Replay.Options(journals, fromMicros, toMicros, endpoint, sample, batch, joinWindow);
      for (Path j : journals) {
        if (!Files.isDirectory(j)) {
          throw new IllegalArgumentException("no journal directory " + j.toAbsolutePath());
        }
      }
    } catch (IllegalArgumentException e) {
      err.println("replay: " + e.getMessage());
      return 2;
    }
    List<VersionScorer> scorers = new ArrayList<>();
    try {
      for (String m : models) {
        scorers.add(VersionScorer.load(storeDir, m));
      }
      ProgressBar bar = new ProgressBar(err, quiet);
      Replay.Report report = Replay.run(options, scorers, bar);
      bar.done();
      print(out, report);
      if (json != null) {
        Files.writeString(
            json,
            Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(report.toJson()),
            StandardCharsets.UTF_8);
      }
      if (csv != null) {
        Files.writeString(csv, report.toCsv(), StandardCharsets.UTF_8);
      }
      return 0;
    } catch (ModelLoadException e) {
      err.println("replay: " + e.getMessage());
      return 1;
    } finally {
      scorers.forEach(VersionScorer::close);
    }
  }

  static void print(PrintWriter out, Replay.Report r) {
    out.printf(
        Locale.ROOT,
        "replayed %,d inputs and %,d corrections (%,d records read, %,d unreadable) in %.1f s%n",
        r.inputs(),
        r.feedback(),
        r.recordsRead(),
        r.unreadable(),
        r.millis() / 1000.0);
    if (r.feedback() > 0) {
      out.printf(
          Locale.ROOT,
          "the answers given were right on %s of the corrected requests%n",
          pct(Replay.share(r.feedbackAnswersCorrect(), r.feedbackAnswered())));
    }
    out.printf(
        Locale.ROOT,
        "%-10s %9s %11s %12s %14s %12s  %s%n",
        "version",
        "inputs",
        "feedback",
        "agreement",
        "own answers",
        "own scores",
        "label mix");
    for (Replay.Figures f : r.versions()) {
      StringBuilder mix = new StringBuilder();
      long[] labels = f.labelMix();
      for (int i = 0; i < labels.length; i++) {
        if (labels[i] > 0) {
          mix.append(i < r.labels().size() ? r.labels().get(i) : Integer.toString(i))
              .append(' ')
              .append(pct(Replay.share(labels[i], f.inputs())))
              .append("  ");
        }
      }
      out.printf(
          Locale.ROOT,
          "%-10s %,9d %11s %12s %14s %12s  %s%n",
          f.version(),
          f.inputs(),
          f.feedback() == 0 ? "-" : pct(f.feedbackAccuracy()) + " of " + f.feedback(),
          pct(f.agreement()),
          f.ownAnswers() == 0 ? "-" : f.ownAnswersReproduced() + "/" + f.ownAnswers(),
          f.ownScoresCompared() == 0 ? "-" : f.ownScoresSameLabel() + "/" + f.ownScoresCompared(),
          mix.toString().trim());
    }
    out.flush();
  }

  private static String pct(double share) {
    return Double.isNaN(share) ? "-" : String.format(Locale.ROOT, "%.1f%%", 100 * share);
  }

  private static long micros(Instant i) {
    return i.getEpochSecond() * 1_000_000 + i.getNano() / 1_000;
  }

  /**
   * A bar with the share done, the inputs per second and the time left, redrawn in place on a
   * terminal (at most every 200 ms), a line every 5 s otherwise.
   */
  static final class ProgressBar implements Replay.Progress {
    private static final int WIDTH = 30;
    private final PrintWriter err;
    private final boolean quiet;
    private final boolean terminal = System.console() != null;
    private final long start = System.nanoTime();
    private long shownAt;

    ProgressBar(PrintWriter err, boolean quiet) {
      this.err = err;
      this.quiet = quiet;
    }

    @Override
    public void at(double fraction, long inputs, long feedback) {
      long now = System.nanoTime();
      long every = terminal ? 200_000_000L : 5_000_000_000L;
      if (quiet || (now - shownAt < every && fraction < 1.0)) {
        return;
      }
      shownAt = now;
      double seconds = (now - start) / 1e9;
      int filled = (int) Math.round(fraction * WIDTH);
      String eta =
          fraction <= 0 || fraction >= 1
              ? "--:--"
              : clock((long) (seconds / fraction * (1 - fraction)));
      String line =
          String.format(
              Locale.ROOT,
              "[%s%s] %5.1f%%  %,d inputs  %,d corrections  %,.0f inputs/s  ETA %s",
              "#".repeat(filled),
              ".".repeat(WIDTH - filled),
              100 * fraction,
              inputs,
              feedback,
              seconds > 0 ? inputs / seconds : 0,
              eta);
      err.print(terminal ? "\r" + line : line + "\n");
      err.flush();
    }

    void done() {
      if (!quiet && terminal) {
        err.println();
      }
    }

    private static String clock(long seconds) {
      return seconds >= 3600
          ? String.format(
              Locale.ROOT, "%d:%02d:%02d", seconds / 3600, (seconds / 60) % 60, seconds % 60)
          : String.format(Locale.ROOT, "%d:%02d", seconds / 60, seconds % 60);
    }
  }

  /** Runs the command with its own output streams (for tests and embedding); the exit code. */
  public static int run(String[] args, java.io.PrintStream out, java.io.PrintStream err) {
    return new CommandLine(new ReplayCommand())
        .setOut(new PrintWriter(out, true))
        .setErr(new PrintWriter(err, true))
        .execute(args);
  }
}

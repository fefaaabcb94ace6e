package io.rendezvous.node;

import io.rendezvous.model.ModelStore;
import io.rendezvous.workers.text.TextCorpus;
import io.rendezvous.workers.text.TextTrainer;
import java.io.PrintWriter;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code rendezvous train-text}: a user's CSV of short texts and their categories to three text
 * models ({@code <name>-nb}, {@code <name>-logreg}, {@code <name>-mlp}) in a model store, with a
 * fixed hold-out split and a report per model: accuracy against always answering the majority
 * category, and a per-category confusion table. Each version keeps the CSV's rows, so a node checks
 * it on its own hold-out part and a trainer can retrain it.
 *
 * <p>{@code --deploy URL}: then the versions go to a running cluster through the lifecycle admin
 * API ({@link TextDeployment}): a new endpoint {@code <name>} with the three on a deadline
 * schedule, or new shadow versions on the endpoint already there; every node is asked for a
 * prediction and the time from the command to the endpoint answering everywhere is printed.
 */
@Command(
    name = "train-text",
    mixinStandardHelpOptions = true,
    description =
        "Train three text models (naive Bayes, logistic regression, MLP) from a CSV of texts and"
            + " their categories; print each one's hold-out accuracy against the majority baseline"
            + " and its confusion table.")
public final class TrainText implements Callable<Integer> {
  @Option(names = "--csv", required = true, description = "the CSV, with a header row")
  Path csv;

  @Option(names = "--text-column", required = true)
  String textColumn;

  @Option(names = "--label-column", required = true)
  String labelColumn;

  @Option(
      names = "--key-column",
      description =
          "a column that identifies a row (the hold-out cut hashes it; default: the text)")
  String keyColumn;

  @Option(
      names = "--name",
      required = true,
      description = "the models' name prefix, and the endpoint's name")
  String name;

  @Option(
      names = "--store",
      description = "the model store (default: $RENDEZVOUS_MODELS_DIR or models)")
  Path store;

  @Option(names = "--seed", defaultValue = "42")
  long seed;

  @Option(
      names = "--deploy",
      paramLabel = "URL",
      description = "a node of a running cluster: create the endpoint there (or add shadows to it)")
  String deploy;

  @Option(
      names = "--token",
      description =
          "admin bearer token for --deploy (default: $RENDEZVOUS_ADMIN_TOKEN or the first of"
              + " $RENDEZVOUS_ADMIN_TOKENS)")
  String token;

  @Option(
      names = "--predict-token",
      description =
          "a token for the endpoint's predictions, when the cluster asks for one: the probe of every"
              + " node after --deploy")
  String predictToken;

  @Option(
      names = "--after-ms",
      split = ",",
      defaultValue = "0,10,20",
      description =
          "a new endpoint's schedule: its first choice (the more accurate of MLP and logistic"
              + " regression), the other, and naive Bayes open this many ms after a request arrives"
              + " (default 0,10,20)")
  List<Long> afterMs;

  @Option(
      names = "--sla-ms",
      defaultValue = "50",
      description = "a new endpoint's SLA (default 50)")
  long slaMs;

  @Option(
      names = "--timeout-s",
      defaultValue = "180",
      description = "per admin request of --deploy (default 180)")
  long timeoutSeconds;

  @Spec CommandSpec spec;

  /** Runs the command with its own output streams (for tests and embedding); the exit code. */
  public static int run(String[] args, java.io.PrintStream out, java.io.PrintStream err) {
    return new CommandLine(new TrainText())
        .setOut(new PrintWriter(out, true))
        .setErr(new PrintWriter(err, true))
        .execute(args);
  }

  @Override
  public Integer call() throws Exception {
    long started = System.nanoTime();
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    try {
      ModelStore.checkName(name + "-logreg");
    } catch (IllegalArgumentException e) {
      err.println("train-text: --name: " + e.getMessage());
      return 2;
    }
    if (afterMs.size() != TextTrainer.Kind.values().length
        || afterMs.stream().anyMatch(a -> a < 0)) {
      err.println(
          "train-text: --after-ms needs three offsets >= 0 (MLP, logistic regression, naive Bayes)");
      return 2;
    }
    if (slaMs <= 0) {
      err.println("train-text: --sla-ms must be > 0");
      return 2;
    }
    if (!Files.isRegularFile(csv)) {
      err.println("train-text: no file " + csv.toAbsolutePath());
      return 2;
    }
    TextCorpus corpus;
    try (Reader r = Files.newBufferedReader(csv, StandardCharsets.UTF_8)) {
      corpus = TextCorpus.read(r, textColumn, labelColumn, keyColumn);
    } catch (java.io.IOException e) {
      err.println("train-text: " + csv + ": " + e.getMessage());
      return 2;
    }
    if (corpus.labels().size() < 2 || corpus.holdout().isEmpty() || corpus.train().isEmpty()) {
      err.println(
          "train-text: "
              + csv
              + " needs at least two categories and enough rows for a hold-out part; it has "
              + corpus.labels().size()
              + " categories, "
              + corpus.train().size()
              + " training and "
              + corpus.holdout().size()
              + " hold-out rows");
      return 2;
    }
    Path dir = store;
    Path scratch = null;
    if (dir == null && deploy != null) {
      // the versions' home is the cluster: a local copy is kept only where --store says
      dir = scratch = Files.createTempDirectory("rendezvous-train-text-");
    } else if (dir == null) {
      String env = System.getenv("RENDEZVOUS_MODELS_DIR");
      dir = Path.of(env == null || env.isBlank() ? "models" : env);
    }
    out.printf(
        "%s: %d rows, %d categories %s; %d to train on, %d held out%n",
        csv,
        corpus.train().size() + corpus.holdout().size(),
        corpus.labels().size(),
        corpus.labels(),
        corpus.train().size(),
        corpus.holdout().size());
    try {
      ModelStore models = new ModelStore(dir);
      List<TextTrainer.Report> reports =
          TextTrainer.trainAll(corpus, models, name, seed, TextTrainer.buildHash(), true);
      for (TextTrainer.Report r : reports) {
        out.println();
        out.print(r.table());
      }
      out.flush();
      if (deploy == null) {
        return 0;
      }
      double trainedSeconds = (System.nanoTime() - started) / 1e9;
      out.printf("%ntrained in %.1f s; deploying to %s%n", trainedSeconds, deploy);
      out.flush();
      TextDeployment deployment =
          new TextDeployment(
              deploy,
              AdminCli.bearer(token),
              predictToken,
              java.time.Duration.ofSeconds(timeoutSeconds),
              out);
      boolean ok =
          deployment.deploy(name, models, reports, afterMs, slaMs, corpus.holdout().get(0).text());
      out.printf(
          "%s in %.1f s from the command (training %.1f s)%n",
          ok ? "endpoint " + name + " answering on every node" : "deployment FAILED",
          (System.nanoTime() - started) / 1e9,
          trainedSeconds);
      return ok ? 0 : 1;
    } finally {
      if (scratch != null) {
        io.rendezvous.workers.training.Trainer.deleteRecursively(scratch);
      }
    }
  }
}

package io.rendezvous.node.freshness;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rendezvous.actors.edge.Json;
import io.rendezvous.model.ModelMetadata;
import io.rendezvous.model.ModelStore;
import io.rendezvous.model.TensorData;
import io.rendezvous.workers.data.FashionMnist;
import io.rendezvous.workers.data.FashionMnist.Sample;
import io.rendezvous.workers.text.TextCorpus;
import io.rendezvous.workers.text.TextTrainer;
import io.rendezvous.workers.training.Architecture;
import io.rendezvous.workers.training.Trainer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * The freshness trainer's child process: trains a new version of a model from the shipped training
 * part plus the corrections not held out (each {@code --weight} times), into a candidate store,
 * then scores the candidate and the live version on the hold-out set and on the held-out
 * corrections, and writes what it found as JSON ({@code --report}). Run at low priority by {@link
 * ChildTrainer}, so serving keeps its cores.
 *
 * <p>{@code --shuffle-labels} trains on the same images with their labels shuffled: a deliberately
 * bad version, to show that the checks stop one.
 */
public final class RetrainMain {
  private RetrainMain() {}

  public static void main(String[] args) throws Exception {
    String model = null;
    Path corrections = null;
    Path out = null;
    Path liveStore = null;
    String liveVersion = null;
    Path report = null;
    long seed = 42;
    int weight = 1;
    boolean shuffle = false;
    boolean warm = false;
    int epochs = 0;
    Path journal = null;
    String endpoint = null;
    java.time.Duration recent = java.time.Duration.ofMinutes(10);
    double recentSample = 0.2;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--model" -> model = args[++i];
        case "--corrections" -> corrections = Path.of(args[++i]);
        case "--out" -> out = Path.of(args[++i]);
        case "--live-store" -> liveStore = Path.of(args[++i]);
        case "--live-version" -> liveVersion = args[++i];
        case "--report" -> report = Path.of(args[++i]);
        case "--seed" -> seed = Long.parseLong(args[++i]);
        case "--weight" -> weight = Integer.parseInt(args[++i]);
        case "--shuffle-labels" -> shuffle = true;
        case "--warm-start" -> warm = true;
        case "--epochs" -> epochs = Integer.parseInt(args[++i]);
        case "--journal" -> journal = Path.of(args[++i]);
        case "--endpoint" -> endpoint = args[++i];
        case "--recent" -> recent = java.time.Duration.parse(args[++i]);
        case "--recent-sample" -> recentSample = Double.parseDouble(args[++i]);
        default -> {
          System.err.println("unknown option " + args[i]);
          System.exit(2);
        }
      }
    }
    if (model == null
        || corrections == null
        || out == null
        || liveStore == null
        || liveVersion == null
        || report == null) {
      System.err.println(
          "usage: RetrainMain --model M --corrections FILE --out STORE --live-store STORE"
              + " --live-version V --report FILE [--seed N] [--weight K] [--warm-start]"
              + " [--epochs N] [--shuffle-labels] [--journal DIR --endpoint E [--recent PT10M]"
              + " [--recent-sample 0.2]]");
      System.exit(2);
    }
    ObjectNode r =
        run(model, corrections, out, liveStore, liveVersion, seed, weight, shuffle, warm, epochs);
    if (journal != null && endpoint != null) {
      r.set(
          "recent_traffic",
          recentTraffic(
              journal,
              endpoint,
              recent,
              recentSample,
              out,
              model + "@" + r.path("candidate").path("version").asText(),
              liveStore,
              model + "@" + liveVersion));
    }
    Path tmp = report.resolveSibling(report.getFileName() + ".tmp");
    Files.writeString(tmp, Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(r));
    Files.move(tmp, report, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }

  /** Trains and judges; the report. */
  public static ObjectNode run(
      String model,
      Path correctionsFile,
      Path out,
      Path liveStore,
      String liveVersion,
      long seed,
      int weight,
      boolean shuffle,
      boolean warmStart,
      int epochs)
      throws Exception {
    ModelMetadata liveMeta =
        ModelMetadata.read(new ModelStore(liveStore).versionDir(model, liveVersion));
    if (liveMeta.featurizer() != null) {
      return runText(
          model, liveMeta, correctionsFile, out, liveStore, liveVersion, seed, weight, shuffle);
    }
    long start = System.nanoTime();
    Architecture arch =
        Architecture.of(model)
            .orElseThrow(
                () ->
                    new IllegalArgumentException("no architecture to retrain " + model + " with"));
    FashionMnist data = FashionMnist.load();
    List<TrainingSet.Item> items = TrainingSet.read(correctionsFile);
    List<Sample> train = new ArrayList<>(data.train());
    List<TrainingSet.Item> heldOut = new ArrayList<>();
    ArrayNode trainedIds = Json.MAPPER.createArrayNode();
    ArrayNode heldOutIds = Json.MAPPER.createArrayNode();
    int trained = 0;
    for (TrainingSet.Item c : items) {
      if (c.heldOut()) {
        heldOut.add(c);
        heldOutIds.add(c.requestId());
        continue;
      }
      if (c.input().length != FashionMnist.PIXELS || c.label() < 0 || c.label() >= 10) {
        continue;
      }
      Sample s = new Sample(-1, pixels(c.input()), c.label());
      for (int k = 0; k < weight; k++) {
        train.add(s);
      }
      trained++;
      trainedIds.add(c.requestId());
    }
    if (shuffle) {
      List<Integer> labels = new ArrayList<>(train.stream().map(Sample::label).toList());
      Collections.shuffle(labels, new Random(seed));
      List<Sample> shuffled = new ArrayList<>(train.size());
      for (int i = 0; i < train.size(); i++) {
        shuffled.add(new Sample(train.get(i).index(), train.get(i).pixels(), labels.get(i)));
      }
      train = shuffled;
    }
    ModelStore store = new ModelStore(out);
    String version = store.nextVersion(model);
    // a version on shuffled labels is the deliberately bad one: from scratch, as any would be
    Path startFrom =
        warmStart && !shuffle ? new ModelStore(liveStore).versionDir(model, liveVersion) : null;
    int epochCount = startFrom != null && epochs > 0 ? epochs : arch.epochs();
    String description =
        arch.description()
            + (startFrom != null
                ? ", fine-tuned from "
                    + model
                    + "@"
                    + liveVersion
                    + " for "
                    + epochCount
                    + " epochs"
                : ", retrained")
            + " with "
            + trained
            + " corrections"
            + (weight > 1 ? " (each x" + weight + ")" : "")
            + (shuffle ? " on SHUFFLED labels" : "");
    ModelMetadata m =
        Trainer.train(
            arch,
            train,
            data.holdout(),
            store,
            version,
            Trainer.buildHash(),
            seed,
            description,
            startFrom,
            epochCount);
    long trainedMillis = (System.nanoTime() - start) / 1_000_000;

    ObjectNode r = Json.object();
    r.put("model", model);
    r.put("shuffled_labels", shuffle);
    r.put("trained_corrections", trained);
    r.put("correction_weight", weight);
    r.put("base_examples", data.train().size());
    r.put("data_hash", m.trainingDataHash());
    r.put("train_millis", trainedMillis);
    r.put("started_from", startFrom == null ? null : model + "@" + liveVersion);
    r.put("epochs", epochCount);
    return judged(
        r,
        trainedIds,
        heldOutIds,
        out,
        model,
        version,
        liveStore,
        liveVersion,
        Judged.images(data, heldOut),
        start);
  }

  /**
   * The report {@code r} completed: which corrections were trained on and held out, candidate
   * {@code version} and live judged on {@code judged}, the run's time from {@code start}.
   */
  private static ObjectNode judged(
      ObjectNode r,
      ArrayNode trainedIds,
      ArrayNode heldOutIds,
      Path out,
      String model,
      String version,
      Path liveStore,
      String liveVersion,
      Judged judged,
      long start)
      throws Exception {
    r.set("trained_ids", trainedIds);
    r.set("held_out_ids", heldOutIds);
    try (VersionScorer candidate = VersionScorer.load(out, model + "@" + version);
        VersionScorer live = VersionScorer.load(liveStore, model + "@" + liveVersion)) {
      r.set("candidate", judge(candidate, out.resolve(model).resolve(version), judged));
      r.set("live", judge(live, null, judged));
    }
    r.put("held_out", judged.heldOut().size());
    r.put("millis", (System.nanoTime() - start) / 1_000_000);
    return r;
  }

  /**
   * A text model retrained: its kind ({@code -nb}, {@code -logreg}, {@code -mlp}) trained again on
   * the rows live was trained on (those its version keeps, or the shipped corpus) plus the
   * corrections not held out, each {@code weight} times, the rows' hold-out part and the held-out
   * corrections judged for both. Text models train in seconds: always from scratch.
   */
  static ObjectNode runText(
      String model,
      ModelMetadata liveMeta,
      Path correctionsFile,
      Path out,
      Path liveStore,
      String liveVersion,
      long seed,
      int weight,
      boolean shuffle)
      throws Exception {
    long start = System.nanoTime();
    TextTrainer.Kind kind =
        TextTrainer.Kind.ofModel(model)
            .orElseThrow(
                () ->
                    new IllegalArgumentException("no text model kind to retrain " + model + " as"));
    Path liveDir = new ModelStore(liveStore).versionDir(model, liveVersion);
    TextCorpus kept = TextCorpus.ofVersion(liveDir);
    TextCorpus base = kept != null ? kept : TextCorpus.shipped();
    if (!base.labels().equals(liveMeta.labels())) {
      throw new IllegalStateException(
          model + "@" + liveVersion + " keeps no rows of its labels " + liveMeta.labels());
    }
    List<TrainingSet.Item> items = TrainingSet.read(correctionsFile);
    // live's rows hold the corrections an earlier retraining added (keyed by request id): they come
    // again from the current set, once each, with their current label and held-out cut
    java.util.Set<String> correctionIds = new java.util.HashSet<>();
    items.forEach(c -> correctionIds.add(c.requestId()));
    List<TextCorpus.Example> train = new ArrayList<>();
    for (TextCorpus.Example e : base.train()) {
      if (!correctionIds.contains(e.key())) {
        train.add(e);
      }
    }
    List<TrainingSet.Item> heldOut = new ArrayList<>();
    ArrayNode trainedIds = Json.MAPPER.createArrayNode();
    ArrayNode heldOutIds = Json.MAPPER.createArrayNode();
    int trained = 0;
    for (TrainingSet.Item c : items) {
      if (c.text() == null || c.label() < 0 || c.label() >= base.labels().size()) {
        continue;
      }
      if (c.heldOut()) {
        heldOut.add(c);
        heldOutIds.add(c.requestId());
        continue;
      }
      for (int k = 0; k < weight; k++) {
        train.add(new TextCorpus.Example(c.requestId(), c.text(), c.label()));
      }
      trained++;
      trainedIds.add(c.requestId());
    }
    if (shuffle) {
      List<Integer> labels =
          new ArrayList<>(train.stream().map(TextCorpus.Example::label).toList());
      Collections.shuffle(labels, new Random(seed));
      List<TextCorpus.Example> shuffled = new ArrayList<>(train.size());
      for (int i = 0; i < train.size(); i++) {
        shuffled.add(
            new TextCorpus.Example(train.get(i).key(), train.get(i).text(), labels.get(i)));
      }
      train = shuffled;
    }
    TextCorpus corpus = base.withTrain(train);
    ModelStore store = new ModelStore(out);
    TextTrainer.Report report =
        TextTrainer.train(
            kind, corpus, store, kind.prefixOf(model), seed, TextTrainer.buildHash(), true);
    long trainedMillis = (System.nanoTime() - start) / 1_000_000;
    ObjectNode r = Json.object();
    r.put("model", model);
    r.put("shuffled_labels", shuffle);
    r.put("trained_corrections", trained);
    r.put("correction_weight", weight);
    r.put("base_examples", base.train().size());
    r.put(
        "data_hash",
        ModelMetadata.read(store.versionDir(model, report.version())).trainingDataHash());
    r.put("train_millis", trainedMillis);
    r.putNull("started_from");
    r.put("epochs", 0);
    return judged(
        r,
        trainedIds,
        heldOutIds,
        out,
        model,
        report.version(),
        liveStore,
        liveVersion,
        Judged.texts(base, heldOut),
        start);
  }

  /**
   * Candidate and live replayed on the node's journal of the last {@code window} (a {@code sample}
   * of the requests): the replay command's code, for how differently the candidate would have
   * answered real traffic (agreement with the answers given, label mix, accuracy on the corrections
   * the window holds).
   */
  static ObjectNode recentTraffic(
      Path journal,
      String endpoint,
      java.time.Duration window,
      double sample,
      Path candidateStore,
      String candidate,
      Path liveStore,
      String live)
      throws Exception {
    java.time.Instant from = java.time.Instant.now().minus(window);
    Replay.Options o =
        new Replay.Options(
            List.of(journal),
            from.getEpochSecond() * 1_000_000 + from.getNano() / 1_000,
            Long.MAX_VALUE,
            endpoint,
            sample,
            64,
            java.time.Duration.ofSeconds(15));
    try (VersionScorer c = VersionScorer.load(candidateStore, candidate);
        VersionScorer l = VersionScorer.load(liveStore, live)) {
      return Replay.run(o, List.of(c, l), (f, i, fb) -> {}).toJson();
    }
  }

  /** One kind of model's hold-out and held-out corrections, as tensors and their labels. */
  private record Judged(
      List<TensorData> holdout,
      int[] holdoutLabels,
      int classes,
      List<TensorData> heldOut,
      int[] heldOutLabels) {

    static Judged images(FashionMnist data, List<TrainingSet.Item> heldOut) {
      List<Sample> holdout = data.holdout();
      List<TensorData> inputs = new ArrayList<>(holdout.size());
      holdout.forEach(
          s -> inputs.add(TensorData.float32(new long[] {1, FashionMnist.PIXELS}, s.scaled())));
      List<TensorData> held = new ArrayList<>();
      heldOut.forEach(
          c -> held.add(TensorData.float32(new long[] {1, c.input().length}, c.input())));
      return new Judged(
          inputs,
          holdout.stream().mapToInt(Sample::label).toArray(),
          FashionMnist.LABELS.size(),
          held,
          heldOut.stream().mapToInt(TrainingSet.Item::label).toArray());
    }

    static Judged texts(TextCorpus corpus, List<TrainingSet.Item> heldOut) {
      List<TensorData> inputs = new ArrayList<>(corpus.holdout().size());
      corpus.holdout().forEach(e -> inputs.add(TensorData.text(e.text())));
      List<TensorData> held = new ArrayList<>();
      heldOut.forEach(c -> held.add(TensorData.text(c.text())));
      return new Judged(
          inputs,
          corpus.holdout().stream().mapToInt(TextCorpus.Example::label).toArray(),
          corpus.labels().size(),
          held,
          heldOut.stream().mapToInt(TrainingSet.Item::label).toArray());
    }
  }

  /**
   * Version {@code v} on the hold-out part (overall and per class) and the held-out corrections.
   */
  private static ObjectNode judge(VersionScorer v, Path dir, Judged data) {
    ObjectNode o = Json.object();
    o.put("version", v.version());
    if (dir != null) {
      o.put("dir", dir.toAbsolutePath().toString());
    }
    int[] right = new int[data.classes()];
    int[] seen = new int[data.classes()];
    int all = 0;
    List<float[]> rows = scoreAll(v, data.holdout());
    for (int i = 0; i < rows.size(); i++) {
      int truth = data.holdoutLabels()[i];
      seen[truth]++;
      if (VersionScorer.top(rows.get(i)) == truth) {
        right[truth]++;
        all++;
      }
    }
    o.put("holdout_accuracy", rows.isEmpty() ? 0 : (double) all / rows.size());
    ArrayNode byClass = o.putArray("holdout_accuracy_by_class");
    for (int c = 0; c < data.classes(); c++) {
      byClass.add(seen[c] == 0 ? 0 : (double) right[c] / seen[c]);
    }
    int heldRight = 0;
    List<float[]> heldRows = scoreAll(v, data.heldOut());
    for (int i = 0; i < heldRows.size(); i++) {
      if (VersionScorer.top(heldRows.get(i)) == data.heldOutLabels()[i]) {
        heldRight++;
      }
    }
    o.put("held_out_right", heldRight);
    return o;
  }

  private static List<float[]> scoreAll(VersionScorer v, List<TensorData> inputs) {
    List<float[]> out = new ArrayList<>(inputs.size());
    for (int from = 0; from < inputs.size(); from += 256) {
      out.addAll(v.score(inputs.subList(from, Math.min(inputs.size(), from + 256))));
    }
    return out;
  }

  /** Inputs scaled to 0..1 back to the 0..255 pixels the training set keeps. */
  static byte[] pixels(float[] input) {
    byte[] out = new byte[input.length];
    for (int i = 0; i < input.length; i++) {
      out[i] = (byte) Math.max(0, Math.min(255, Math.round(input[i] * 255f)));
    }
    return out;
  }
}

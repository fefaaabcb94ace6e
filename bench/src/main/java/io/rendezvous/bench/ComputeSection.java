package io.rendezvous.bench;

import ai.djl.inference.Predictor;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rendezvous.model.TensorData;
import io.rendezvous.workers.LoadedModel;
import io.rendezvous.workers.ModelSettings;
import io.rendezvous.workers.data.FashionMnist;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * 1. In-process compute: instances/s of each model through DJL on one thread, one thread per core,
 * and in batches of the configured max-batch-size, the way the workers call it; then the combined
 * rate of the three image models, which the HTTP summary compares the rendezvous against, and of
 * the three text models (hold-out texts of the shipped corpus) for the text endpoint.
 */
final class ComputeSection {
  private static final List<String> MODES = List.of("single", "per-core", "batched");

  private final RunContext run;
  private final HarnessOptions o;
  private final PrintStream out;

  ComputeSection(RunContext run) {
    this.run = run;
    this.o = run.options;
    this.out = run.out;
  }

  /** Returns the combined rate of the three models per mode. */
  Map<String, Double> run(List<FashionMnist.Sample> holdout) throws Exception {
    int cores = Runtime.getRuntime().availableProcessors();
    out.println();
    out.println(
        "1. In-process compute: instances/s through DJL, median of "
            + o.repeats()
            + " runs of "
            + o.computeSeconds()
            + " s (min-max)");
    out.printf(
        "%-16s %24s %24s %24s  batch%n",
        "model", "1 thread, batch 1", cores + " threads, batch 1", "1 thread, its max batch");
    Map<String, Double> inverseSum = new LinkedHashMap<>();
    Map<String, Double> textInverseSum = new LinkedHashMap<>();
    List<String> texts =
        io.rendezvous.workers.text.TextCorpus.shipped().holdout().stream()
            .map(io.rendezvous.workers.text.TextCorpus.Example::text)
            .toList();
    ArrayNode rows = run.json.putArray("compute");
    for (ModelSettings s : ModelSettings.allFromConfig(run.config)) {
      StringBuilder line = new StringBuilder(String.format("%-16s", s.name()));
      try (LoadedModel model = LoadedModel.load(s)) {
        java.util.function.IntFunction<TensorData> input =
            model.takesText()
                ? i -> TensorData.text(texts.get(i % texts.size()))
                : i ->
                    TensorData.float32(
                        new long[] {1, FashionMnist.PIXELS},
                        holdout.get(i % holdout.size()).scaled());
        for (String mode : MODES) {
          int threads = mode.equals("per-core") ? cores : 1;
          int batch = mode.equals("batched") ? s.maxBatchSize() : 1;
          List<Double> rates = new ArrayList<>();
          for (int r = 0; r < o.repeats(); r++) {
            rates.add(rate(model, input, threads, batch, Duration.ofSeconds(o.computeSeconds())));
          }
          Stats st = Stats.of(rates);
          line.append(String.format(" %10.0f (%5.0f-%5.0f)", st.median(), st.min(), st.max()));
          (model.takesText() ? textInverseSum : inverseSum)
              .merge(mode, 1 / st.median(), Double::sum);
          ObjectNode row = rows.addObject();
          row.put("model", s.name());
          row.put("mode", mode);
          row.put("threads", threads);
          row.put("batch", batch);
          st.into(row, "instances_per_second");
          for (int r = 0; r < rates.size(); r++) {
            run.csvRow(
                "compute",
                s.name() + "-" + mode,
                String.valueOf(threads),
                String.valueOf(r + 1),
                String.valueOf(o.computeSeconds()),
                "",
                "",
                "",
                RunContext.fmt(rates.get(r)),
                "",
                "",
                "",
                "",
                "",
                "",
                "");
          }
        }
      }
      out.println(line.append(String.format("  %5d", s.maxBatchSize())));
    }
    Map<String, Double> combined = new LinkedHashMap<>();
    StringBuilder line = new StringBuilder(String.format("%-16s", "all 3"));
    ObjectNode c = run.json.putObject("combined_compute");
    for (String mode : MODES) {
      double rate = 1 / inverseSum.get(mode);
      combined.put(mode, rate);
      c.put(mode, rate);
      line.append(String.format(" %10.0f %13s", rate, ""));
    }
    out.println(line + "  <- combined: 1/(1/r1+1/r2+1/r3), each request scored by all three");
    if (!textInverseSum.isEmpty()) {
      StringBuilder text = new StringBuilder(String.format("%-16s", "text 3"));
      ObjectNode t = run.json.putObject("combined_text_compute");
      for (String mode : MODES) {
        double rate = 1 / textInverseSum.get(mode);
        t.put(mode, rate);
        text.append(String.format(" %10.0f %13s", rate, ""));
      }
      out.println(text + "  <- the same for the text models, each text scored by all three");
    }
    return combined;
  }

  /**
   * Instances per second of {@code threads} threads, each with its own predictor, in batches of
   * {@code batch}.
   */
  private static double rate(
      LoadedModel model,
      java.util.function.IntFunction<TensorData> input,
      int threads,
      int batch,
      Duration length)
      throws Exception {
    AtomicLong instances = new AtomicLong();
    List<Thread> running = new ArrayList<>();
    List<Exception> failures = new ArrayList<>();
    long end = System.nanoTime() + length.toNanos();
    long start = System.nanoTime();
    for (int t = 0; t < threads; t++) {
      int offset = t * 997;
      Thread thread =
          new Thread(
              () -> {
                try (Predictor<TensorData, float[][]> single = model.newPredictor();
                    Predictor<List<TensorData>, List<float[]>> batched =
                        model.newBatchPredictor()) {
                  int i = offset;
                  long n = 0;
                  while (System.nanoTime() < end) {
                    if (batch == 1) {
                      single.predict(input.apply(i++));
                      n++;
                    } else {
                      List<TensorData> xs = new ArrayList<>(batch);
                      for (int b = 0; b < batch; b++) {
                        xs.add(input.apply(i++));
                      }
                      batched.predict(xs);
                      n += batch;
                    }
                  }
                  instances.addAndGet(n);
                } catch (Exception e) {
                  synchronized (failures) {
                    failures.add(e);
                  }
                }
              },
              "bench-compute-" + t);
      thread.start();
      running.add(thread);
    }
    for (Thread t : running) {
      t.join();
    }
    if (!failures.isEmpty()) {
      throw failures.get(0);
    }
    return instances.get() / ((System.nanoTime() - start) / 1e9);
  }
}

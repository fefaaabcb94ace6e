package io.rendezvous.bench;

import ai.djl.inference.Predictor;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.rendezvous.actors.edge.Json;
import io.rendezvous.journal.JournalRecord;
import io.rendezvous.journal.JournalSettings;
import io.rendezvous.journal.JournalWriter;
import io.rendezvous.model.TensorData;
import io.rendezvous.node.Node;
import io.rendezvous.workers.LoadedModel;
import io.rendezvous.workers.ModelSettings;
import io.rendezvous.workers.data.FashionMnist;
import io.rendezvous.workers.data.HoldoutBodies;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * {@code rendezvous bench}: measures Rendezvous against its own ceilings in one run on this
 * machine, with the same payloads throughout (hold-out images as JSON).
 *
 * <ol>
 *   <li>in-process compute of each model through DJL: one thread, one thread per core, and batches
 *       of the configured max-batch-size, the way the workers call it;
 *   <li>the HTTP ceiling ({@code /bench/ceiling}: same HTTP stack and JSON decoding, no model);
 *   <li>one model over HTTP ({@code /v2/models/m3/infer});
 *   <li>the full rendezvous ({@code /predict}, journal on);
 *   <li>the same with the journal off (a second node in this JVM);
 * </ol>
 *
 * 2 to 5 run at several concurrencies, interleaved, each repeated; only 200s with the expected body
 * count. Then the saturation point (the rendezvous' best closed-model throughput), an open-model
 * run at 80% of it checked against the SLA, and a soak at that rate with the heap after GC at start
 * and end. Between 1 and 2, the journal alone: the writer thread's CPU and the bytes per request
 * story. Results go to CSV and JSON as well as the console. Bounded: every phase has a fixed
 * length.
 */
public final class Harness {
  private Harness() {}

  /** How long the journal section waits on a writer that appends nothing before it gives up. */
  static final Duration JOURNAL_STALL = Duration.ofSeconds(30);

  static final long JOURNAL_POLL_NANOS = 50_000;

  /**
   * Warm-up rounds that let the JIT settle: short, at low concurrency, until a round compiles
   * little.
   */
  static final int JIT_ROUND_SECONDS = 3;

  static final int JIT_ROUND_CLIENTS = 2;
  static final long JIT_QUIET_MILLIS = 100;
  static final int JIT_MAX_ROUNDS = 20;

  static final List<String> TARGETS =
      List.of("ceiling", "m3-infer", "rendezvous", "rendezvous-no-journal");

  static final String USAGE =
      "usage: rendezvous bench [--seconds N] [--repeats R] [--clients 1,4,16,64] [--warmup S]"
          + " [--compute-seconds S] [--sla-seconds S] [--soak-seconds S] [--soak-window S] [--open-connections N] [--out DIR] [--label TEXT]"
          + " [--sections compute,journal,http] [--rate R (only the open-model SLA check and soak, at R/s)] [--targets "
          + String.join(",", TARGETS)
          + "] [--set key=value]...";

  record Options(
      int seconds,
      int repeats,
      List<Integer> clients,
      int warmup,
      int computeSeconds,
      int slaSeconds,
      int soakSeconds,
      int soakWindow,
      Path out,
      String label,
      List<String> sets,
      int openConnections,
      List<String> sections,
      List<String> targets,
      double rate) {}

  static Options parse(String[] args) {
    int seconds = 5;
    int repeats = 3;
    List<Integer> clients = List.of(1, 4, 16, 64);
    int warmup = 10;
    int computeSeconds = 2;
    int slaSeconds = 30;
    int soakSeconds = 300;
    int soakWindow = 30;
    Path out = null;
    String label = "";
    List<String> sets = new ArrayList<>();
    List<String> sections = List.of("compute", "journal", "http");
    List<String> targets = TARGETS;
    double rate = 0;
    int openConnections = 256;
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (i + 1 >= args.length) {
        throw new IllegalArgumentException(a + " needs a value");
      }
      String v = args[++i];
      switch (a) {
        case "--seconds" -> seconds = positive(a, v);
        case "--repeats" -> repeats = positive(a, v);
        case "--clients" ->
            clients = Arrays.stream(v.split(",")).map(c -> positive(a, c.trim())).toList();
        case "--warmup" -> warmup = Integer.parseInt(v);
        case "--compute-seconds" -> computeSeconds = positive(a, v);
        case "--sla-seconds" -> slaSeconds = positive(a, v);
        case "--soak-seconds" -> soakSeconds = Integer.parseInt(v);
        case "--soak-window" -> soakWindow = positive(a, v);
        case "--open-connections" -> openConnections = positive(a, v);
        case "--out" -> out = Path.of(v);
        case "--label" -> label = v;
        case "--rate" -> {
          rate = Double.parseDouble(v);
          if (!(rate > 0)) {
            throw new IllegalArgumentException("--rate must be above 0");
          }
        }
        case "--targets" -> {
          targets = Arrays.stream(v.split(",")).map(String::trim).toList();
          if (!TARGETS.containsAll(targets)) {
            throw new IllegalArgumentException("--targets takes some of " + TARGETS + ", got " + v);
          }
        }
        case "--sections" -> {
          sections = Arrays.stream(v.split(",")).map(String::trim).toList();
          if (!List.of("compute", "journal", "http").containsAll(sections)) {
            throw new IllegalArgumentException(
                "--sections takes some of compute, journal, http, got " + v);
          }
        }
        case "--set" -> {
          if (!v.contains("=")) {
            throw new IllegalArgumentException("--set takes key=value, got " + v);
          }
          sets.add(v);
        }
        default -> throw new IllegalArgumentException("unknown option " + a);
      }
    }
    if (out == null) {
      out =
          Path.of(
              "bench-results",
              LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
    }
    return new Options(
        seconds,
        repeats,
        clients,
        warmup,
        computeSeconds,
        slaSeconds,
        soakSeconds,
        soakWindow,
        out,
        label,
        List.copyOf(sets),
        openConnections,
        sections,
        targets,
        rate);
  }

  private static int positive(String option, String v) {
    int n = Integer.parseInt(v);
    if (n < 1) {
      throw new IllegalArgumentException(option + " must be at least 1");
    }
    return n;
  }

  public static int run(String[] args, PrintStream out) throws Exception {
    Options o;
    try {
      o = parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("bench: " + e.getMessage());
      System.err.println(USAGE);
      return 2;
    }
    return new Run(o, out).execute();
  }

  /** One harness run: its options, what it measured, and where it writes. */
  private static final class Run {
    private final Options o;
    private final PrintStream out;
    private final ObjectNode json = Json.object();
    private final List<String> csv = new ArrayList<>();
    private final Config config;
    private final Duration sla;

    Run(Options o, PrintStream out) {
      this.o = o;
      this.out = out;
      this.config = nodeConfig(Path.of("unused"), "");
      this.sla = config.getDuration("rendezvous.endpoints.rendezvous.sla");
      csv.add(
          "label,section,target,clients,repeat,seconds,sent,answered,failed,per_second,p50_ms,p90_ms,p99_ms,p999_ms,max_ms,cpu_us_per_answer,jit_ms");
    }

    Config nodeConfig(Path dataDir, String extra) {
      StringBuilder sets = new StringBuilder();
      o.sets().forEach(s -> sets.append(s).append('\n'));
      return ConfigFactory.load(
          ConfigFactory.parseString(
                  sets
                      + extra
                      + "\n"
                      + "rendezvous.data-dir = \""
                      + dataDir.toString().replace("\\", "/")
                      + "\"\n"
                      + "rendezvous.http.port = 0\n"
                      + "pekko.remote.artery.canonical.port = 0\n"
                      + "pekko.management.http.port = 0\n"
                      + "pekko.coordinated-shutdown.exit-jvm = off\n"
                      + "pekko.loglevel = WARNING\n")
              .withFallback(ConfigFactory.parseResourcesAnySyntax("application")));
    }

    int execute() throws Exception {
      Files.createDirectories(o.out());
      List<FashionMnist.Sample> holdout = FashionMnist.load().holdout();
      machine();
      Map<String, Double> combined = o.sections().contains("compute") ? compute(holdout) : Map.of();
      if (o.sections().contains("journal")) {
        journal(holdout);
      }
      if (!o.sections().contains("http")) {
        write();
        return 0;
      }

      Path dataOn = Files.createTempDirectory("rendezvous-bench-on");
      Path dataOff = Files.createTempDirectory("rendezvous-bench-off");
      Node on =
          Node.start(
              nodeConfig(dataOn, "rendezvous.node-name = \"bench-journal-on\""),
              List.of(CeilingRoute.EXTENSION));
      Node off =
          Node.start(
              nodeConfig(
                  dataOff,
                  "rendezvous.node-name = \"bench-journal-off\"\n"
                      + "rendezvous.journal.enabled = off"));
      try {
        List<byte[]> predictBodies =
            holdout.stream()
                .limit(500)
                .map(s -> HoldoutBodies.json(s).getBytes(StandardCharsets.UTF_8))
                .toList();
        List<byte[]> oipBodies =
            holdout.stream()
                .limit(500)
                .map(s -> HoldoutBodies.oip(s).getBytes(StandardCharsets.UTF_8))
                .toList();
        String json = "application/json";
        List<HttpLoad.Target> targets =
            List.of(
                new HttpLoad.Target(
                    "ceiling",
                    "127.0.0.1",
                    on.httpPort(),
                    "/bench/ceiling",
                    json,
                    predictBodies,
                    "\"predictions\""),
                new HttpLoad.Target(
                    "m3-infer",
                    "127.0.0.1",
                    on.httpPort(),
                    "/v2/models/m3/infer",
                    json,
                    oipBodies,
                    "\"outputs\""),
                new HttpLoad.Target(
                    "rendezvous",
                    "127.0.0.1",
                    on.httpPort(),
                    "/predict",
                    json,
                    predictBodies,
                    "\"predictions\""),
                new HttpLoad.Target(
                    "rendezvous-no-journal",
                    "127.0.0.1",
                    off.httpPort(),
                    "/predict",
                    json,
                    predictBodies,
                    "\"predictions\""));
        double saturation;
        if (o.rate() > 0) {
          // a given rate instead of a measured saturation point: the open-model checks run at
          // exactly R
          saturation = o.rate() / 0.8;
          if (o.warmup() > 0) {
            warmUp(targets.get(2));
          }
        } else {
          Map<String, Map<Integer, List<HttpLoad.Outcome>>> results =
              http(targets.stream().filter(t -> o.targets().contains(t.name())).toList());
          saturation = summarize(results, combined);
        }
        if (!Double.isNaN(saturation)) {
          slaCheck(targets.get(2), saturation);
          soak(targets.get(2), saturation, dataOn);
        }
      } finally {
        on.stop().toCompletableFuture().get(60, TimeUnit.SECONDS);
        off.stop().toCompletableFuture().get(60, TimeUnit.SECONDS);
        deleteTree(dataOn);
        deleteTree(dataOff);
      }
      write();
      return 0;
    }

    private void write() throws IOException {
      Files.write(o.out().resolve("runs.csv"), csv);
      Files.writeString(
          o.out().resolve("summary.json"),
          Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(json));
      out.println();
      out.println(
          "Results written to "
              + o.out().resolve("runs.csv")
              + " and "
              + o.out().resolve("summary.json"));
    }

    private void machine() throws IOException {
      String cpu = "unknown";
      Path cpuinfo = Path.of("/proc/cpuinfo");
      if (Files.isReadable(cpuinfo)) {
        cpu =
            Files.readAllLines(cpuinfo).stream()
                .filter(l -> l.startsWith("model name"))
                .map(l -> l.substring(l.indexOf(':') + 1).trim())
                .findFirst()
                .orElse(cpu);
      }
      int cores = Runtime.getRuntime().availableProcessors();
      long heapMax = Runtime.getRuntime().maxMemory();
      ModelSettings m3 =
          ModelSettings.allFromConfig(config).stream()
              .filter(m -> m.name().equals("m3"))
              .findFirst()
              .orElseThrow();
      ObjectNode m = json.putObject("machine");
      m.put("cpu", cpu);
      m.put("cores", cores);
      m.put("java", System.getProperty("java.version"));
      m.put("heap_max_mib", heapMax >> 20);
      m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version"));
      ObjectNode run = json.putObject("run");
      run.put("label", o.label());
      run.put("started", LocalDateTime.now().toString());
      run.put("seconds_per_run", o.seconds());
      run.put("repeats", o.repeats());
      run.put("sla_ms", sla.toMillis());
      run.put("max_batch_size", m3.maxBatchSize());
      run.put("max_batch_delay_ms", m3.maxBatchDelay().toNanos() / 1e6);
      ArrayNode sets = run.putArray("config_overrides");
      o.sets().forEach(sets::add);
      out.printf(
          "Rendezvous benchmark%s: %s, %d cores, Java %s, heap max %d MiB%n",
          o.label().isEmpty() ? "" : " (" + o.label() + ")",
          cpu,
          cores,
          System.getProperty("java.version"),
          heapMax >> 20);
      out.printf(
          "Load generator and nodes share this JVM and its cores. %d s per run, %d repeats, SLA %d ms, "
              + "micro-batches up to %d, max batch delay %s ms%s%n",
          o.seconds(),
          o.repeats(),
          sla.toMillis(),
          m3.maxBatchSize(),
          m3.maxBatchDelay().toNanos() / 1e6,
          o.sets().isEmpty() ? "" : ", overrides " + o.sets());
    }

    // ---- the journal alone ----

    /**
     * What journaling one request costs, away from HTTP and the models: whole request stories (a
     * hold-out input, three scores, the answer, as the entity offers them) through a journal writer
     * set up as the node's, as fast as it takes them. Measured on the writer's own thread, so the
     * figure is the CPU a request's records cost, which the throughput of a loaded 2-core machine
     * shows only through noise.
     */
    private void journal(List<FashionMnist.Sample> holdout) throws Exception {
      out.println();
      out.println(
          "Journal alone: request stories (a hold-out input, 3 scores, the answer) through the node's journal"
              + " writer, median of "
              + o.repeats()
              + " runs of "
              + o.computeSeconds()
              + " s (min-max)");
      Path dir = Files.createTempDirectory("rendezvous-bench-journal");
      List<TensorData> inputs =
          holdout.stream()
              .limit(500)
              .map(s -> TensorData.float32(new long[] {1, s.pixels().length}, s.scaled()))
              .toList();
      float[] probabilities = new float[10];
      Arrays.fill(probabilities, 0.1f);
      List<Double> perSecond = new ArrayList<>();
      List<Double> cpuMicros = new ArrayList<>();
      List<Double> bytes = new ArrayList<>();
      JournalSettings settings =
          JournalSettings.fromConfig(nodeConfig(dir, "")).withDir(dir.resolve("journal"));
      if (!settings.enabled()) {
        out.println("  the journal is off (rendezvous.journal.enabled): nothing to measure");
        deleteTree(dir);
        return;
      }
      try (JournalWriter writer = JournalWriter.start(settings)) {
        java.lang.management.ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        long writerThread =
            Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().equals(JournalWriter.THREAD_NAME))
                .mapToLong(Thread::getId)
                .max()
                .orElseThrow();
        long[] story = {0};
        // unmeasured first: the JIT compiles the writer's path
        writeStories(writer, inputs, probabilities, story, o.computeSeconds());
        for (int r = 1; r <= o.repeats(); r++) {
          long appendedBytes = writer.appendedBytes();
          long cpu = threads.getThreadCpuTime(writerThread);
          long start = System.nanoTime();
          double stories =
              writeStories(writer, inputs, probabilities, story, o.computeSeconds()) / 5.0;
          double seconds = (System.nanoTime() - start) / 1e9;
          long cpuAfter = threads.getThreadCpuTime(writerThread);
          perSecond.add(stories / seconds);
          // -1: this JVM cannot tell a thread's CPU time
          cpuMicros.add(cpu < 0 || cpuAfter < 0 ? Double.NaN : (cpuAfter - cpu) / 1e3 / stories);
          bytes.add((writer.appendedBytes() - appendedBytes) / stories);
          csv.add(
              String.join(
                  ",",
                  csvLabel(),
                  "journal",
                  "writer",
                  "1",
                  Integer.toString(r),
                  fmt(seconds),
                  fmt(stories),
                  fmt(stories),
                  "0",
                  fmt(stories / seconds),
                  "",
                  "",
                  "",
                  "",
                  "",
                  fmt(cpuMicros.get(cpuMicros.size() - 1)),
                  ""));
        }
      } finally {
        deleteTree(dir);
      }
      Stats rate = Stats.of(perSecond);
      Stats cpu = Stats.of(cpuMicros);
      Stats size = Stats.of(bytes);
      out.printf(
          "  %,.0f stories/s (%,.0f-%,.0f); writer CPU %.1f us per story (%.1f-%.1f); %,.0f bytes per story%n",
          rate.median, rate.min, rate.max, cpu.median, cpu.min, cpu.max, size.median);
      ObjectNode j = json.putObject("journal");
      rate.into(j, "stories_per_second");
      cpu.into(j, "writer_cpu_us_per_story");
      size.into(j, "bytes_per_story");
    }

    /**
     * Offers whole stories for {@code seconds} and waits until the writer has appended every record
     * offered; returns how many records that was. The offers keep the writer's queue at most half
     * full, as a node well below its journal's limit does; a writer that refuses records, or takes
     * none for {@link #JOURNAL_STALL}, ends the section with an error instead of waiting forever.
     */
    private static long writeStories(
        JournalWriter writer,
        List<TensorData> inputs,
        float[] probabilities,
        long[] story,
        int seconds) {
      long end = System.nanoTime() + seconds * 1_000_000_000L;
      int room = Math.max(1, writer.settings().queueCapacity() / 2);
      long base = writer.appended();
      long offered = 0;
      String[] models = {"m3", "m2", "m1"};
      while (System.nanoTime() < end) {
        waitFor(writer, () -> writer.pending() <= Math.max(0, room - 5));
        long n = story[0]++;
        String id = "bench-" + n;
        List<JournalRecord> records = new ArrayList<>(5);
        records.add(
            new JournalRecord.Input(
                id,
                null,
                "bench",
                "rendezvous",
                n,
                "json",
                null,
                inputs.get((int) (n % inputs.size()))));
        for (String m : models) {
          records.add(
              new JournalRecord.Score(
                  id,
                  "bench",
                  "rendezvous",
                  n,
                  m,
                  "1",
                  JournalRecord.Outcome.OK,
                  900,
                  40,
                  probabilities,
                  null));
        }
        records.add(
            new JournalRecord.Answer(
                id,
                null,
                "bench",
                "rendezvous",
                n,
                200,
                "m3",
                "1",
                0,
                "Shirt",
                probabilities,
                1000,
                null));
        for (int i = 0; i < records.size(); i++) {
          JournalRecord r = records.get(i);
          // as the entity does: only the answer wakes the writer
          if (!(i == records.size() - 1 ? writer.offer(r, null) : writer.offerLazily(r, null))) {
            throw new IllegalStateException(
                "the journal refused a record: " + writer.unwritableReason());
          }
          offered++;
        }
      }
      long expected = base + offered;
      waitFor(writer, () -> writer.appended() >= expected);
      return offered;
    }

    /** Waits while the writer makes progress; fails when it is unwritable or stalls. */
    private static void waitFor(JournalWriter writer, java.util.function.BooleanSupplier done) {
      long lastAppended = writer.appended();
      long stallAt = System.nanoTime() + JOURNAL_STALL.toNanos();
      while (!done.getAsBoolean()) {
        if (writer.unwritableReason() != null) {
          throw new IllegalStateException(
              "the journal stopped writing: " + writer.unwritableReason());
        }
        long appended = writer.appended();
        if (appended != lastAppended) {
          lastAppended = appended;
          stallAt = System.nanoTime() + JOURNAL_STALL.toNanos();
        } else if (System.nanoTime() - stallAt > 0) {
          throw new IllegalStateException(
              "the journal writer appended nothing for " + JOURNAL_STALL.toSeconds() + " s");
        }
        java.util.concurrent.locks.LockSupport.parkNanos(JOURNAL_POLL_NANOS);
      }
    }

    // ---- 1. in-process compute ----

    private Map<String, Double> compute(List<FashionMnist.Sample> holdout) throws Exception {
      int cores = Runtime.getRuntime().availableProcessors();
      out.println();
      out.println(
          "1. In-process compute: instances/s through DJL, median of "
              + o.repeats()
              + " runs of "
              + o.computeSeconds()
              + " s (min-max)");
      List<String> modes = List.of("single", "per-core", "batched");
      out.printf(
          "%-6s %24s %24s %24s%n",
          "model",
          "1 thread, batch 1",
          cores + " threads, batch 1",
          "1 thread, batches of " + ModelSettings.allFromConfig(config).get(0).maxBatchSize());
      Map<String, Double> inverseSum = new LinkedHashMap<>();
      ArrayNode rows = json.putArray("compute");
      for (ModelSettings s : ModelSettings.allFromConfig(config)) {
        StringBuilder line = new StringBuilder(String.format("%-6s", s.name()));
        try (LoadedModel model = LoadedModel.load(s)) {
          for (String mode : modes) {
            int threads = mode.equals("per-core") ? cores : 1;
            int batch = mode.equals("batched") ? s.maxBatchSize() : 1;
            List<Double> rates = new ArrayList<>();
            for (int r = 0; r < o.repeats(); r++) {
              rates.add(
                  computeRate(
                      model, holdout, threads, batch, Duration.ofSeconds(o.computeSeconds())));
            }
            Stats st = Stats.of(rates);
            line.append(String.format(" %10.0f (%5.0f-%5.0f)", st.median, st.min, st.max));
            inverseSum.merge(mode, 1 / st.median, Double::sum);
            ObjectNode row = rows.addObject();
            row.put("model", s.name());
            row.put("mode", mode);
            row.put("threads", threads);
            row.put("batch", batch);
            st.into(row, "instances_per_second");
            for (int r = 0; r < rates.size(); r++) {
              csv.add(
                  String.join(
                      ",",
                      csvLabel(),
                      "compute",
                      s.name() + "-" + mode,
                      String.valueOf(threads),
                      String.valueOf(r + 1),
                      String.valueOf(o.computeSeconds()),
                      "",
                      "",
                      "",
                      fmt(rates.get(r)),
                      "",
                      "",
                      "",
                      "",
                      "",
                      "",
                      ""));
            }
          }
        }
        out.println(line);
      }
      Map<String, Double> combined = new LinkedHashMap<>();
      StringBuilder line = new StringBuilder(String.format("%-6s", "all 3"));
      ObjectNode c = json.putObject("combined_compute");
      for (String mode : modes) {
        double rate = 1 / inverseSum.get(mode);
        combined.put(mode, rate);
        c.put(mode, rate);
        line.append(String.format(" %10.0f %13s", rate, ""));
      }
      out.println(line + "  <- combined: 1/(1/r1+1/r2+1/r3), each request scored by all three");
      return combined;
    }

    /**
     * Instances per second of {@code threads} threads, each with its own predictor, in batches of
     * {@code batch}.
     */
    private static double computeRate(
        LoadedModel model,
        List<FashionMnist.Sample> holdout,
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
                        single.predict(
                            TensorData.float32(
                                new long[] {1, FashionMnist.PIXELS},
                                holdout.get(i++ % holdout.size()).scaled()));
                        n++;
                      } else {
                        List<TensorData> xs = new ArrayList<>(batch);
                        for (int b = 0; b < batch; b++) {
                          xs.add(
                              TensorData.float32(
                                  new long[] {1, FashionMnist.PIXELS},
                                  holdout.get(i++ % holdout.size()).scaled()));
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

    // ---- 2 to 5: over HTTP ----

    private Map<String, Map<Integer, List<HttpLoad.Outcome>>> http(List<HttpLoad.Target> targets)
        throws Exception {
      out.println();
      out.printf(
          "Warm-up (not counted): per target, rounds of %d s at %d clients until the JIT has settled"
              + " (under %d ms of compiling in a round, at most %d rounds), then %d s at 16 clients%n",
          JIT_ROUND_SECONDS, JIT_ROUND_CLIENTS, JIT_QUIET_MILLIS, JIT_MAX_ROUNDS, o.warmup());
      for (HttpLoad.Target t : targets) {
        if (o.warmup() > 0) {
          warmUp(t);
        }
      }
      out.println();
      out.println(
          "2-5. Over HTTP, closed model (each client sends its next request when answered); runs interleaved");
      out.printf(
          "%-22s %7s %6s %10s %9s %9s %9s %8s %7s %8s   %s%n",
          "target",
          "clients",
          "run",
          "answered/s",
          "p50 ms",
          "p99 ms",
          "p99.9 ms",
          "CPU us",
          "JIT ms",
          "failed",
          "failures / stages");
      Map<String, Map<Integer, List<HttpLoad.Outcome>>> results = new LinkedHashMap<>();
      for (int rep = 1; rep <= o.repeats(); rep++) {
        for (int clients : o.clients()) {
          for (HttpLoad.Target t : targets) {
            HttpLoad.Outcome r = HttpLoad.closed(t, clients, Duration.ofSeconds(o.seconds()), sla);
            results
                .computeIfAbsent(t.name(), k -> new LinkedHashMap<>())
                .computeIfAbsent(clients, k -> new ArrayList<>())
                .add(r);
            out.printf(
                "%-22s %7d %6d %10.0f %9.2f %9.2f %9.2f %8.0f %7d %8d   %s%n",
                t.name(),
                clients,
                rep,
                r.answeredPerSecond(),
                r.percentileMillis(50),
                r.percentileMillis(99),
                r.percentileMillis(99.9),
                r.cpuMicrosPerAnswer(),
                r.jitMillis(),
                r.tally().failed(),
                r.tally().failures.isEmpty() ? r.tally().stages : r.tally().describeFailures());
            csvRow("http", t.name(), clients, rep, r);
          }
        }
      }
      return results;
    }

    /**
     * Warms one target: first at low concurrency until the JIT has settled, since on a saturated
     * 2-core machine the compiler threads get a small share of the CPU and hot code can stay
     * interpreted for tens of seconds; then at 16 clients for the warm-up time.
     */
    private void warmUp(HttpLoad.Target t) throws InterruptedException {
      long jit = 0;
      int rounds = 0;
      do {
        HttpLoad.Outcome r =
            HttpLoad.closed(t, JIT_ROUND_CLIENTS, Duration.ofSeconds(JIT_ROUND_SECONDS), sla);
        requireAnswers(t, r);
        jit = r.jitMillis();
        rounds++;
      } while (jit >= JIT_QUIET_MILLIS && rounds < JIT_MAX_ROUNDS);
      HttpLoad.Outcome w = HttpLoad.closed(t, 16, Duration.ofSeconds(o.warmup()), sla);
      requireAnswers(t, w);
      out.printf(
          "  %-22s JIT settled after %d round(s) (%d ms in the last); %d ms of JIT in the 16-client round%n",
          t.name(), rounds, jit, w.jitMillis());
    }

    /** A figure, or JSON null when it was not measured (NaN is not JSON). */
    private static void putNumber(ObjectNode o, String field, double value) {
      if (Double.isNaN(value)) {
        o.putNull(field);
      } else {
        o.put(field, value);
      }
    }

    /** A target that answers nothing is misconfigured: measuring it would only print zeros. */
    private static void requireAnswers(HttpLoad.Target t, HttpLoad.Outcome r) {
      if (r.tally().answered == 0) {
        throw new IllegalStateException(
            "warm-up of " + t.name() + " got no answer: " + r.tally().failures);
      }
    }

    /**
     * Prints the medians and ratios; returns the saturation point (best median rate of the
     * rendezvous).
     */
    private double summarize(
        Map<String, Map<Integer, List<HttpLoad.Outcome>>> results, Map<String, Double> combined) {
      out.println();
      out.println("Summary: median of " + o.repeats() + " runs, spread = (max-min)/median");
      out.printf(
          "%-22s %7s %10s %8s %9s %9s %8s %8s%n",
          "target", "clients", "answered/s", "spread", "p50 ms", "p99 ms", "CPU us", "failed");
      ArrayNode rows = json.putArray("http");
      Map<String, Map<Integer, Stats>> medians = new LinkedHashMap<>();
      for (var byTarget : results.entrySet()) {
        for (var byClients : byTarget.getValue().entrySet()) {
          List<HttpLoad.Outcome> runs = byClients.getValue();
          Stats rate = Stats.of(runs.stream().map(HttpLoad.Outcome::answeredPerSecond).toList());
          Stats p50 = Stats.of(runs.stream().map(r -> r.percentileMillis(50)).toList());
          Stats p99 = Stats.of(runs.stream().map(r -> r.percentileMillis(99)).toList());
          Stats cpu = Stats.of(runs.stream().map(HttpLoad.Outcome::cpuMicrosPerAnswer).toList());
          long failed = runs.stream().mapToLong(r -> r.tally().failed()).sum();
          medians
              .computeIfAbsent(byTarget.getKey(), k -> new LinkedHashMap<>())
              .put(byClients.getKey(), rate);
          out.printf(
              "%-22s %7d %10.0f %7.1f%% %9.2f %9.2f %8.0f %8d%n",
              byTarget.getKey(),
              byClients.getKey(),
              rate.median,
              rate.spreadPercent(),
              p50.median,
              p99.median,
              cpu.median,
              failed);
          ObjectNode row = rows.addObject();
          row.put("target", byTarget.getKey());
          row.put("clients", byClients.getKey());
          rate.into(row, "answered_per_second");
          row.put("p50_ms_median", p50.median);
          row.put("p99_ms_median", p99.median);
          row.put("cpu_us_per_answer_median", cpu.median);
          row.put("failed", failed);
        }
      }
      // without the compute section the ratios against compute are not known: NaN, printed as such
      double bestCompute =
          combined.values().stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
      String bestMode =
          combined.entrySet().stream()
              .max(Map.Entry.comparingByValue())
              .map(Map.Entry::getKey)
              .orElse("?");
      if (!medians.keySet().containsAll(TARGETS)) {
        out.println("(ratios, saturation and soak need all of " + TARGETS + ")");
        return Double.NaN;
      }
      out.println();
      out.printf(
          "Ratios per concurrency (combined compute, best mode '%s': %.0f/s%s)%n",
          bestMode,
          bestCompute,
          Double.isNaN(bestCompute) ? "; not measured, add compute to --sections" : "");
      out.printf(
          "%7s %14s %24s %12s %22s%n",
          "clients", "(4)/(2) ceil", "(4)/min(2, compute)", "(4)/(5)", "journal cost (spreads)");
      ArrayNode ratios = json.putArray("ratios");
      for (int clients : o.clients()) {
        Stats full = medians.get("rendezvous").get(clients);
        Stats ceiling = medians.get("ceiling").get(clients);
        Stats noJournal = medians.get("rendezvous-no-journal").get(clients);
        double bound = Math.min(ceiling.median, bestCompute);
        double cost = 1 - full.median / noJournal.median;
        out.printf(
            "%7d %13.1f%% %23.1f%% %11.1f%% %9.1f%% (%.1f%%, %.1f%%)%n",
            clients,
            100 * full.median / ceiling.median,
            100 * full.median / bound,
            100 * full.median / noJournal.median,
            100 * cost,
            full.spreadPercent(),
            noJournal.spreadPercent());
        ObjectNode r = ratios.addObject();
        r.put("clients", clients);
        r.put("full_over_ceiling", full.median / ceiling.median);
        putNumber(r, "full_over_min_ceiling_compute", full.median / bound);
        r.put("full_over_no_journal", full.median / noJournal.median);
        r.put("journal_cost", cost);
        r.put("spread_full", full.spreadPercent() / 100);
        r.put("spread_no_journal", noJournal.spreadPercent() / 100);
      }
      Map<String, Double> best = new LinkedHashMap<>();
      medians.forEach(
          (target, byClients) ->
              best.put(
                  target,
                  byClients.values().stream().mapToDouble(s -> s.median).max().orElse(Double.NaN)));
      double bound = Math.min(best.get("ceiling"), bestCompute);
      out.println();
      out.println("Headline (each at its best concurrency)");
      best.forEach((target, rate) -> out.printf("  %-22s %8.0f answered/s%n", target, rate));
      out.printf(
          "  (4)/(2) rendezvous over HTTP ceiling                 %6.1f%%%n",
          100 * best.get("rendezvous") / best.get("ceiling"));
      out.printf(
          "  (4)/min(2, combined compute %.0f/s)                 %6.1f%%   target >= 70%%%n",
          bestCompute, 100 * best.get("rendezvous") / bound);
      // on one machine HTTP and inference share the cores, so their costs add rather than the
      // smaller win
      double shared = 1 / (1 / best.get("ceiling") + 1 / bestCompute);
      out.printf(
          "  (4)/shared-core bound 1/(1/ceiling + 1/compute) = %.0f/s %6.1f%%%n",
          shared, 100 * best.get("rendezvous") / shared);
      out.printf(
          "  (4)/(5) journal on over journal off                  %6.1f%%   journal cost %.1f%%, target <= 3%%%n",
          100 * best.get("rendezvous") / best.get("rendezvous-no-journal"),
          100 * (1 - best.get("rendezvous") / best.get("rendezvous-no-journal")));
      ObjectNode h = json.putObject("headline");
      best.forEach((target, rate) -> h.put(target + "_per_second", rate));
      putNumber(h, "combined_compute_best", bestCompute);
      h.put("combined_compute_best_mode", bestMode);
      h.put("full_over_ceiling", best.get("rendezvous") / best.get("ceiling"));
      putNumber(h, "full_over_min_ceiling_compute", best.get("rendezvous") / bound);
      putNumber(h, "shared_core_bound", shared);
      putNumber(h, "full_over_shared_core_bound", best.get("rendezvous") / shared);
      h.put("journal_cost", 1 - best.get("rendezvous") / best.get("rendezvous-no-journal"));
      // the saturation point: the most the rendezvous answered while it still kept its promise (no
      // failed
      // request, p99 within the SLA); a higher figure bought with 503s and 504s is not sustainable
      double peak = best.get("rendezvous");
      double saturation = Double.NaN;
      int atClients = -1;
      for (var e : results.get("rendezvous").entrySet()) {
        Stats rate = medians.get("rendezvous").get(e.getKey());
        boolean kept =
            e.getValue().stream()
                .allMatch(r -> r.tally().failed() == 0 && r.percentileMillis(99) <= sla.toMillis());
        if (kept && (Double.isNaN(saturation) || rate.median > saturation)) {
          saturation = rate.median;
          atClients = e.getKey();
        }
      }
      if (Double.isNaN(saturation)) {
        out.println("  no concurrency kept the SLA in every run; saturation taken as the peak");
        saturation = peak;
      }
      out.printf(
          "  saturation point: %.0f answered/s at %d clients (the highest with no failure and p99 within"
              + " the SLA in every run; peak regardless of failures %.0f/s)%n",
          saturation, atClients, peak);
      h.put("peak_per_second", peak);
      h.put("saturation_per_second", saturation);
      h.put("saturation_clients", atClients);
      return saturation;
    }

    // ---- SLA at 80% of saturation, and the soak ----

    private void slaCheck(HttpLoad.Target target, double saturation) throws Exception {
      double rate = 0.8 * saturation;
      out.println();
      out.printf(
          "Open model at 80%% of the saturation point (%.0f/s): %.0f requests/s for %d s, latency from each"
              + " request's due time%n",
          saturation, rate, o.slaSeconds());
      HttpLoad.Outcome r =
          HttpLoad.open(target, rate, Duration.ofSeconds(o.slaSeconds()), o.openConnections(), sla);
      report("sla-check", target, r, rate);
      ObjectNode s = json.putObject("sla_check");
      outcomeInto(s, r, rate);
    }

    private void soak(HttpLoad.Target target, double saturation, Path dataDir) throws Exception {
      if (o.soakSeconds() <= 0) {
        out.println();
        out.println("Soak skipped (--soak-seconds 0)");
        return;
      }
      double rate = 0.8 * saturation;
      out.println();
      out.printf(
          "Soak: %.0f requests/s (80%% of saturation) for %d s, in windows of %d s%n",
          rate, o.soakSeconds(), o.soakWindow());
      long heapStart = heapAfterGc();
      long rssStart = rssBytes();
      long journalStart = treeBytes(dataDir);
      out.printf(
          "  start: heap after GC %.1f MiB, RSS %.1f MiB, journal %.1f MiB%n",
          mib(heapStart), mib(rssStart), mib(journalStart));
      out.printf(
          "  %6s %10s %9s %9s %10s %8s %12s %10s%n",
          "window", "sent/s", "p50 ms", "p99 ms", "within SLA", "failed", "heap used", "RSS");
      ObjectNode s = json.putObject("soak");
      s.put("rate", rate);
      s.put("seconds", o.soakSeconds());
      ArrayNode windows = s.putArray("windows");
      long sent = 0;
      long within = 0;
      long withinFromWrite = 0;
      long failed = 0;
      int windowsCount = Math.max(1, o.soakSeconds() / o.soakWindow());
      for (int w = 1; w <= windowsCount; w++) {
        HttpLoad.Outcome r =
            HttpLoad.open(
                target, rate, Duration.ofSeconds(o.soakWindow()), o.openConnections(), sla);
        sent += r.sent();
        within += r.tally().withinSla;
        withinFromWrite += r.tally().withinSlaFromWrite;
        failed += r.tally().failed();
        long heapUsed = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
        long rss = rssBytes();
        out.printf(
            "  %6d %10.0f %9.2f %9.2f %9.3f%% %8d %8.1f MiB %6.1f MiB%n",
            w,
            r.sent() / r.seconds(),
            r.percentileMillis(50),
            r.percentileMillis(99),
            100.0 * r.tally().withinSla / Math.max(1, r.sent()),
            r.tally().failed(),
            mib(heapUsed),
            mib(rss));
        ObjectNode wn = windows.addObject();
        outcomeInto(wn, r, rate);
        wn.put("heap_used_bytes", heapUsed);
        wn.put("rss_bytes", rss);
        csvRow("soak", target.name(), 0, w, r);
      }
      long heapEnd = heapAfterGc();
      long rssEnd = rssBytes();
      long journalEnd = treeBytes(dataDir);
      out.printf(
          "  end:   heap after GC %.1f MiB (%+.1f MiB), RSS %.1f MiB (%+.1f MiB), journal %.1f MiB%n",
          mib(heapEnd),
          mib(heapEnd - heapStart),
          mib(rssEnd),
          mib(rssEnd - rssStart),
          mib(journalEnd));
      out.printf(
          "  %d sent, %d within the SLA (%.3f%%), %d failed; without the load generator's own lag,"
              + " %d within the SLA (%.3f%%)%n",
          sent,
          within,
          100.0 * within / Math.max(1, sent),
          failed,
          withinFromWrite,
          100.0 * withinFromWrite / Math.max(1, sent));
      s.put("heap_after_gc_start_bytes", heapStart);
      s.put("heap_after_gc_end_bytes", heapEnd);
      s.put("rss_start_bytes", rssStart);
      s.put("rss_end_bytes", rssEnd);
      s.put("journal_start_bytes", journalStart);
      s.put("journal_end_bytes", journalEnd);
      s.put("sent", sent);
      s.put("within_sla", within);
      s.put("within_sla_from_write", withinFromWrite);
      s.put("failed", failed);
    }

    private void report(String section, HttpLoad.Target target, HttpLoad.Outcome r, double rate) {
      long sent = r.sent();
      out.printf(
          "  sent %d, answered 200 %d, within the %d ms SLA %d (%.3f%%), failed %d %s%n",
          sent,
          r.tally().answered,
          sla.toMillis(),
          r.tally().withinSla,
          100.0 * r.tally().withinSla / Math.max(1, sent),
          r.tally().failed(),
          r.tally().failures.isEmpty() ? "" : r.tally().describeFailures());
      out.printf(
          "  latency p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms; answers by %s%n",
          r.percentileMillis(50),
          r.percentileMillis(99),
          r.percentileMillis(99.9),
          r.percentileMillis(100),
          r.tally().stages);
      // part of the latency is the load generator's own: requests written late to their connections
      out.printf(
          "  of which the load generator's own lag (a free connection to the write): p50 %.2f ms, p99 %.2f ms,"
              + " p99.9 %.2f ms, max %.2f ms; without it, %d (%.3f%%) within the SLA%n",
          r.sendLagMillis(50),
          r.sendLagMillis(99),
          r.sendLagMillis(99.9),
          r.sendLagMillis(100),
          r.tally().withinSlaFromWrite,
          100.0 * r.tally().withinSlaFromWrite / Math.max(1, sent));
      out.println(
          r.tally().withinSla == sent
              ? "  => every request answered 200 within the SLA"
              : "  => "
                  + (sent - r.tally().withinSla)
                  + " request(s) NOT answered 200 within the SLA");
      csvRow(section, target.name(), 0, 1, r);
    }

    private void outcomeInto(ObjectNode n, HttpLoad.Outcome r, double rate) {
      n.put("rate", rate);
      n.put("sent", r.sent());
      n.put("answered", r.tally().answered);
      n.put("within_sla", r.tally().withinSla);
      n.put("within_sla_from_write", r.tally().withinSlaFromWrite);
      n.put("failed", r.tally().failed());
      n.put("p50_ms", r.percentileMillis(50));
      n.put("p99_ms", r.percentileMillis(99));
      n.put("p999_ms", r.percentileMillis(99.9));
      n.put("max_ms", r.percentileMillis(100));
      n.put("send_lag_p99_ms", r.sendLagMillis(99));
      n.put("send_lag_max_ms", r.sendLagMillis(100));
      ObjectNode f = n.putObject("failures");
      r.tally().failures.forEach(f::put);
      ObjectNode e = n.putObject("failure_examples");
      r.tally().samples.forEach(e::put);
    }

    private void csvRow(
        String section, String target, int clients, int repeat, HttpLoad.Outcome r) {
      csv.add(
          String.join(
              ",",
              csvLabel(),
              section,
              target,
              String.valueOf(clients),
              String.valueOf(repeat),
              fmt(r.seconds()),
              String.valueOf(r.sent()),
              String.valueOf(r.tally().answered),
              String.valueOf(r.tally().failed()),
              fmt(r.answeredPerSecond()),
              fmt(r.percentileMillis(50)),
              fmt(r.percentileMillis(90)),
              fmt(r.percentileMillis(99)),
              fmt(r.percentileMillis(99.9)),
              fmt(r.percentileMillis(100)),
              fmt(r.cpuMicrosPerAnswer()),
              String.valueOf(r.jitMillis())));
    }

    private String csvLabel() {
      return "\"" + o.label().replace("\"", "'") + "\"";
    }
  }

  /** Median, min and max of repeated measurements. */
  record Stats(double median, double min, double max) {
    static Stats of(List<Double> values) {
      double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
      double median =
          v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
      return new Stats(median, v[0], v[v.length - 1]);
    }

    double spreadPercent() {
      return 100 * (max - min) / median;
    }

    void into(ObjectNode n, String name) {
      n.put(name + "_median", median);
      n.put(name + "_min", min);
      n.put(name + "_max", max);
    }
  }

  /** Heap in use after two full collections: the live set of the nodes and the harness. */
  static long heapAfterGc() throws InterruptedException {
    for (int i = 0; i < 2; i++) {
      System.gc();
      Thread.sleep(200);
    }
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

  /** Resident set size of this process (Linux), or -1. */
  static long rssBytes() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        }
      }
    } catch (IOException | NumberFormatException e) {
      return -1;
    }
    return -1;
  }

  static long treeBytes(Path dir) {
    try (Stream<Path> files = Files.walk(dir)) {
      return files
          .filter(Files::isRegularFile)
          .mapToLong(
              p -> {
                try {
                  return Files.size(p);
                } catch (IOException e) {
                  return 0;
                }
              })
          .sum();
    } catch (IOException e) {
      return -1;
    }
  }

  static void deleteTree(Path dir) {
    try (Stream<Path> files = Files.walk(dir)) {
      files
          .sorted(Comparator.reverseOrder())
          .forEach(
              p -> {
                try {
                  Files.deleteIfExists(p);
                } catch (IOException e) {
                  throw new UncheckedIOException(e);
                }
              });
    } catch (IOException | UncheckedIOException e) {
      System.err.println("bench: could not delete " + dir + ": " + e.getMessage());
    }
  }

  static double mib(long bytes) {
    return bytes / (1024.0 * 1024.0);
  }

  static String fmt(double v) {
    return Double.isNaN(v) ? "" : String.format(java.util.Locale.ROOT, "%.3f", v);
  }
}

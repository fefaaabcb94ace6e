package io.rendezvous.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rendezvous.journal.JournalWriter;
import io.rendezvous.workers.data.FashionMnist;
import io.rendezvous.workers.data.HoldoutBodies;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * 2 to 5, over HTTP in the closed model: the ceiling ({@code /bench/ceiling}: same HTTP stack and
 * JSON decoding, no model), one model ({@code /v2/models/m3/infer}), the full rendezvous ({@code
 * /predict}, journal on) and the same with the journal off (a second node). Each target is warmed
 * up until the JIT settles; the runs are interleaved and repeated, and only 200s with the expected
 * body count. The summary gives medians, ratios and the saturation point.
 */
final class HttpSection {
  /**
   * Warm-up rounds that let the JIT settle: short, at low concurrency, until a round compiles
   * little.
   */
  static final int JIT_ROUND_SECONDS = 3;

  static final int JIT_ROUND_CLIENTS = 2;
  static final long JIT_QUIET_MILLIS = 100;
  static final int JIT_MAX_ROUNDS = 20;

  private final RunContext run;
  private final HarnessOptions o;
  private final PrintStream out;

  HttpSection(RunContext run) {
    this.run = run;
    this.o = run.options;
    this.out = run.out;
  }

  /**
   * The four targets, in {@link HarnessCommand#TARGETS} order: three on the node with the journal
   * on ({@code onPort}), one on the node without ({@code offPort}).
   */
  static List<HttpLoad.Target> targets(
      List<FashionMnist.Sample> holdout, int onPort, int offPort, int grpcPort) {
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
    return List.of(
        new HttpLoad.Target(
            "ceiling",
            "127.0.0.1",
            onPort,
            "/bench/ceiling",
            json,
            predictBodies,
            "\"predictions\""),
        new HttpLoad.Target(
            "m3-infer", "127.0.0.1", onPort, "/v2/models/m3/infer", json, oipBodies, "\"outputs\""),
        new HttpLoad.Target(
            "rendezvous", "127.0.0.1", onPort, "/predict", json, predictBodies, "\"predictions\""),
        new HttpLoad.Target(
            "rendezvous-no-journal",
            "127.0.0.1",
            offPort,
            "/predict",
            json,
            predictBodies,
            "\"predictions\""),
        new HttpLoad.Target(
            "text",
            "127.0.0.1",
            onPort,
            "/predict?endpoint=" + TEXT_ENDPOINT,
            json,
            textBodies(),
            "\"predictions\""),
        // the same rendezvous as Open Inference Protocol clients send it: short decimals, Python's
        // json.dumps, Triton's binary tensor data extension
        new HttpLoad.Target(
            "oip-json",
            "127.0.0.1",
            onPort,
            "/v2/models/rendezvous/infer",
            json,
            oipBodies,
            "\"outputs\""),
        new HttpLoad.Target(
            "oip-json-17",
            "127.0.0.1",
            onPort,
            "/v2/models/rendezvous/infer",
            json,
            holdout.stream()
                .limit(500)
                .map(s -> HoldoutBodies.pythonOip(s).getBytes(StandardCharsets.UTF_8))
                .toList(),
            "\"outputs\""),
        new HttpLoad.Target(
            "oip-binary",
            "127.0.0.1",
            onPort,
            "/v2/models/rendezvous/infer",
            "application/octet-stream",
            holdout.stream().limit(500).map(HoldoutBodies::oipBinary).toList(),
            "\"outputs\"",
            "Inference-Header-Content-Length: "
                + HoldoutBodies.OIP_BINARY_HEADER.length()
                + "\r\n"),
        // and over the protocol's gRPC API, the tensor in raw_input_contents as Triton's clients
        // send it
        GrpcClient.target("grpc", grpcPort, "rendezvous", holdout.stream().limit(500).toList()));
  }

  /** The text endpoint the harness measures beside the image one. */
  static final String TEXT_ENDPOINT = "sections";

  /** Hold-out texts of the shipped corpus, one {@code {"instances": [text]}} body each. */
  static List<byte[]> textBodies() {
    return io.rendezvous.workers.text.TextCorpus.shipped().holdout().stream()
        .limit(500)
        .map(
            e -> {
              com.fasterxml.jackson.databind.node.ObjectNode body =
                  io.rendezvous.actors.edge.Json.object();
              body.putArray("instances").add(e.text());
              return body.toString().getBytes(StandardCharsets.UTF_8);
            })
        .toList();
  }

  /** Warms each target up, then runs them all: per target, per concurrency, every repeat. */
  Map<String, Map<Integer, List<HttpLoad.Outcome>>> run(List<HttpLoad.Target> targets)
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
          // threads read only around the rendezvous runs, the ones their figures compare
          boolean byThread = t.name().startsWith("rendezvous");
          long[] writerBefore = byThread ? journalWriterCounters() : null;
          Map<String, Long> threadsBefore = byThread ? cpuByThreadGroup() : Map.of();
          HttpLoad.Outcome r =
              HttpLoad.closed(t, clients, Duration.ofSeconds(o.seconds()), run.sla);
          long[] writerAfter = byThread ? journalWriterCounters() : null;
          long answered = r.tally().answered;
          if (answered > 0 && byThread) {
            Map<String, Long> threadsAfter = cpuByThreadGroup();
            Map<String, List<Double>> byGroup =
                threadCpuInRun
                    .computeIfAbsent(t.name(), k -> new TreeMap<>())
                    .computeIfAbsent(clients, k -> new TreeMap<>());
            threadsAfter.forEach(
                (group, nanos) ->
                    byGroup
                        .computeIfAbsent(group, k -> new ArrayList<>())
                        .add((nanos - threadsBefore.getOrDefault(group, 0L)) / 1e3 / answered));
          }
          if (t.name().equals("rendezvous") && answered > 0) {
            writerInRun
                .computeIfAbsent(clients, k -> new ArrayList<>())
                .add(
                    new double[] {
                      (writerAfter[0] - writerBefore[0]) / 1e3 / answered,
                      r.cpuSeconds() * 1e6 / answered,
                      (writerAfter[1] - writerBefore[1]) / 1e3 / answered,
                      (double) (writerAfter[2] - writerBefore[2]) / answered,
                      (double) (writerAfter[3] - writerBefore[3]) / answered
                    });
          }
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
          run.csvRow("http", t.name(), clients, rep, r);
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
  void warmUp(HttpLoad.Target t) throws InterruptedException {
    JitRounds settled =
        untilJitQuiet(
            () -> {
              HttpLoad.Outcome r =
                  HttpLoad.closed(
                      t, JIT_ROUND_CLIENTS, Duration.ofSeconds(JIT_ROUND_SECONDS), run.sla);
              requireAnswers(t, r);
              return r;
            },
            JIT_MAX_ROUNDS);
    HttpLoad.Outcome w = HttpLoad.closed(t, 16, Duration.ofSeconds(o.warmup()), run.sla);
    requireAnswers(t, w);
    out.printf(
        "  %-22s JIT settled after %d round(s) (%d ms in the last); %d ms of JIT in the 16-client round%n",
        t.name(), settled.rounds(), settled.last().jitMillis(), w.jitMillis());
  }

  /** A warm-up round of load, closed or open. */
  @FunctionalInterface
  interface Round {
    HttpLoad.Outcome run() throws InterruptedException;
  }

  /** The last of the rounds run, and how many. */
  record JitRounds(HttpLoad.Outcome last, int rounds) {}

  /**
   * Runs {@code round} until one compiles under {@link #JIT_QUIET_MILLIS} or {@code maxRounds} have
   * run: the one rule of every warm-up here, closed-model or open.
   */
  static JitRounds untilJitQuiet(Round round, int maxRounds) throws InterruptedException {
    HttpLoad.Outcome last;
    int rounds = 0;
    do {
      last = round.run();
      rounds++;
    } while (last.jitMillis() >= JIT_QUIET_MILLIS && rounds < maxRounds);
    return new JitRounds(last, rounds);
  }

  /** A target that answers nothing is misconfigured: measuring it would only print zeros. */
  private static void requireAnswers(HttpLoad.Target t, HttpLoad.Outcome r) {
    if (r.tally().answered == 0) {
      throw new IllegalStateException(
          "warm-up of " + t.name() + " got no answer: " + r.tally().failures);
    }
  }

  /**
   * Prints the medians, and the ratios and headline when every target ran; returns the saturation
   * point, or NaN when not every target ran.
   */
  double summarize(
      Map<String, Map<Integer, List<HttpLoad.Outcome>>> results, Map<String, Double> combined) {
    out.println();
    out.println("Summary: median of " + o.repeats() + " runs, spread = (max-min)/median");
    out.printf(
        "%-22s %7s %10s %8s %9s %9s %8s %8s%n",
        "target", "clients", "answered/s", "spread", "p50 ms", "p99 ms", "CPU us", "failed");
    ArrayNode rows = run.json.putArray("http");
    Map<String, Map<Integer, Stats>> medians = new LinkedHashMap<>();
    Map<String, Map<Integer, Double>> cpuMedians = new LinkedHashMap<>();
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
        cpuMedians
            .computeIfAbsent(byTarget.getKey(), k -> new LinkedHashMap<>())
            .put(byClients.getKey(), cpu.median());
        out.printf(
            "%-22s %7d %10.0f %7.1f%% %9.2f %9.2f %8.0f %8d%n",
            byTarget.getKey(),
            byClients.getKey(),
            rate.median(),
            rate.spreadPercent(),
            p50.median(),
            p99.median(),
            cpu.median(),
            failed);
        ObjectNode row = rows.addObject();
        row.put("target", byTarget.getKey());
        row.put("clients", byClients.getKey());
        rate.into(row, "answered_per_second");
        row.put("p50_ms_median", p50.median());
        row.put("p99_ms_median", p99.median());
        row.put("cpu_us_per_answer_median", cpu.median());
        row.put("failed", failed);
      }
    }
    writerShare(medians, cpuMedians);
    writerShareInRun();
    journalCostByThread();
    if (!medians.keySet().containsAll(HarnessCommand.RATIO_TARGETS)) {
      out.println("(ratios, saturation and soak need all of " + HarnessCommand.RATIO_TARGETS + ")");
      return Double.NaN;
    }
    return ratiosAndHeadline(results, medians, combined);
  }

  /**
   * Per concurrency, for each run of the rendezvous with the journal on: the node's journal writer
   * thread's CPU and the process's CPU, both per answered request and over the same run.
   */
  private final Map<Integer, List<double[]>> writerInRun = new TreeMap<>();

  /**
   * What this process's journal writer threads (the journal-on node's: the only one alive while the
   * HTTP runs) have used so far: CPU and user-mode CPU in ns, and their voluntary and involuntary
   * context switches (from /proc, 0 where there is none): a writer that parks and is woken per
   * request pays for it in the kernel.
   */
  static long[] journalWriterCounters() {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    long[] sum = new long[4];
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      if (t.getName().equals(JournalWriter.THREAD_NAME)) {
        sum[0] += Math.max(0, threads.getThreadCpuTime(t.getId()));
        sum[1] += Math.max(0, threads.getThreadUserTime(t.getId()));
      }
    }
    // Linux names a task by the first 15 bytes of its thread's name
    String comm = JournalWriter.THREAD_NAME.substring(0, 15);
    try (var tasks = java.nio.file.Files.list(java.nio.file.Path.of("/proc/self/task"))) {
      for (java.nio.file.Path task : (Iterable<java.nio.file.Path>) tasks::iterator) {
        try {
          if (!java.nio.file.Files.readString(task.resolve("comm")).strip().equals(comm)) {
            continue;
          }
          for (String line : java.nio.file.Files.readAllLines(task.resolve("status"))) {
            if (line.startsWith("voluntary_ctxt_switches:")) {
              sum[2] += Long.parseLong(line.substring(line.indexOf(':') + 1).strip());
            } else if (line.startsWith("nonvoluntary_ctxt_switches:")) {
              sum[3] += Long.parseLong(line.substring(line.indexOf(':') + 1).strip());
            }
          }
        } catch (java.io.IOException | RuntimeException gone) {
          // the task ended meanwhile
        }
      }
    } catch (java.io.IOException noProc) {
      // not Linux: no context switches to tell
    }
    return sum;
  }

  /**
   * The journal's own cost as CPU, which noise in throughput cannot decide: the writer thread's CPU
   * per request story (journal section) over the process CPU per answered request of the rendezvous
   * with the journal on, per concurrency, with the on and off rates beside it.
   */
  private void writerShare(
      Map<String, Map<Integer, Stats>> medians, Map<String, Map<Integer, Double>> cpuMedians) {
    Map<Integer, Double> cpuOn = cpuMedians.get("rendezvous");
    if (Double.isNaN(run.writerCpuMicrosPerStory) || cpuOn == null) {
      return;
    }
    out.println();
    out.printf(
        "Journal writer CPU per request story %.1f us (journal section, thread CPU time) against"
            + " process CPU per answered request of the rendezvous, journal on; target <= 3%%%n",
        run.writerCpuMicrosPerStory);
    Map<Integer, Stats> off = medians.getOrDefault("rendezvous-no-journal", Map.of());
    ObjectNode j = run.json.putObject("journal_writer_share");
    cpuOn.forEach(
        (clients, cpu) -> {
          double share = 100 * run.writerCpuMicrosPerStory / cpu;
          Stats offRate = off.get(clients);
          out.printf(
              "  %3d clients: %6.0f us per answer, writer %5.2f%%   (journal on %.0f/s, off %s)%n",
              clients,
              cpu,
              share,
              medians.get("rendezvous").get(clients).median(),
              offRate == null ? "not run" : String.format("%.0f/s", offRate.median()));
          RunContext.putNumber(j, "percent_at_" + clients, share);
        });
  }

  /**
   * Per rendezvous target and concurrency: each thread group's CPU per answered request, one entry
   * per run, to tell where the journal's cost lands besides its writer.
   */
  private final Map<String, Map<Integer, Map<String, List<Double>>>> threadCpuInRun =
      new TreeMap<>();

  /**
   * CPU so far of this process's live threads, summed by name without its trailing number (the
   * dispatcher's threads together, say).
   */
  static Map<String, Long> cpuByThreadGroup() {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    Map<String, Long> out = new TreeMap<>();
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      long cpu = threads.getThreadCpuTime(t.getId());
      if (cpu > 0) {
        out.merge(t.getName().replaceAll("[-#]?\\d+$", ""), cpu, Long::sum);
      }
    }
    return out;
  }

  /**
   * Where the journal's cost lands: per concurrency, the thread groups whose CPU per answer differs
   * most between the rendezvous with the journal on and off (medians of the runs).
   */
  private void journalCostByThread() {
    Map<Integer, Map<String, List<Double>>> on = threadCpuInRun.get("rendezvous");
    Map<Integer, Map<String, List<Double>>> off = threadCpuInRun.get("rendezvous-no-journal");
    if (on == null || off == null) {
      return;
    }
    out.println(
        "CPU per answer by thread group, journal on against off (median of the runs; the groups"
            + " that differ most)");
    ObjectNode j = run.json.putObject("journal_cost_by_thread");
    on.forEach(
        (clients, groupsOn) -> {
          Map<String, List<Double>> groupsOff = off.getOrDefault(clients, Map.of());
          java.util.Set<String> groups = new java.util.TreeSet<>(groupsOn.keySet());
          groups.addAll(groupsOff.keySet());
          Map<String, double[]> diffs = new LinkedHashMap<>();
          for (String g : groups) {
            double a = groupsOn.containsKey(g) ? Stats.of(groupsOn.get(g)).median() : 0;
            double b = groupsOff.containsKey(g) ? Stats.of(groupsOff.get(g)).median() : 0;
            diffs.put(g, new double[] {a, b});
          }
          StringBuilder line = new StringBuilder();
          ObjectNode row = j.putObject(Integer.toString(clients));
          diffs.entrySet().stream()
              .sorted(
                  (x, y) ->
                      Double.compare(
                          Math.abs(y.getValue()[0] - y.getValue()[1]),
                          Math.abs(x.getValue()[0] - x.getValue()[1])))
              .limit(JOURNAL_COST_GROUPS)
              .forEach(
                  e -> {
                    line.append(
                        String.format(
                            java.util.Locale.ROOT,
                            "; %s %.0f/%.0f",
                            e.getKey(),
                            e.getValue()[0],
                            e.getValue()[1]));
                    ObjectNode g = row.putObject(e.getKey());
                    g.put("on_us_per_answer", e.getValue()[0]);
                    g.put("off_us_per_answer", e.getValue()[1]);
                  });
          out.printf("  %3d clients (us on/off)%s%n", clients, line);
        });
  }

  /** How many thread groups {@link #journalCostByThread} prints per concurrency. */
  private static final int JOURNAL_COST_GROUPS = 6;

  /** The writer's share measured inside each rendezvous run, beside {@link #writerShare}. */
  private void writerShareInRun() {
    if (writerInRun.isEmpty()) {
      return;
    }
    // the same share measured inside each run: the writer's thread and the process over the same
    // seconds, so a slower or faster phase of the machine moves both alike; it includes what the
    // writer does besides appending (acknowledging each answer to its entity)
    out.println(
        "Journal writer CPU inside the rendezvous runs (the node's writer thread over the same seconds"
            + " as the process), median of the runs; target <= 3%");
    ObjectNode inRun = run.json.putObject("journal_writer_share_in_run");
    writerInRun.forEach(
        (clients, runs) -> {
          Stats writer = Stats.of(runs.stream().map(r -> r[0]).toList());
          Stats share = Stats.of(runs.stream().map(r -> 100 * r[0] / r[1]).toList());
          Stats user = Stats.of(runs.stream().map(r -> r[2]).toList());
          Stats parks = Stats.of(runs.stream().map(r -> r[3]).toList());
          Stats preempted = Stats.of(runs.stream().map(r -> r[4]).toList());
          out.printf(
              "  %3d clients: writer %5.1f us per answer (user %.1f, kernel %.1f), %5.2f%% of the"
                  + " process (%.2f-%.2f%%); per answer %.2f sleeps, %.2f preemptions%n",
              clients,
              writer.median(),
              user.median(),
              writer.median() - user.median(),
              share.median(),
              share.min(),
              share.max(),
              parks.median(),
              preempted.median());
          RunContext.putNumber(inRun, "percent_at_" + clients, share.median());
          RunContext.putNumber(inRun, "writer_us_per_answer_at_" + clients, writer.median());
        });
  }

  /**
   * The rendezvous against its ceilings, per concurrency and at each target's best; returns the
   * saturation point (the rendezvous' best closed-model throughput that kept the SLA).
   */
  private double ratiosAndHeadline(
      Map<String, Map<Integer, List<HttpLoad.Outcome>>> results,
      Map<String, Map<Integer, Stats>> medians,
      Map<String, Double> combined) {
    // without the compute section the ratios against compute are not known: NaN, printed as such
    double bestCompute =
        combined.values().stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
    String bestMode =
        combined.entrySet().stream()
            .max(Map.Entry.comparingByValue())
            .map(Map.Entry::getKey)
            .orElse("?");
    out.println();
    out.printf(
        "Ratios per concurrency (combined compute, best mode '%s': %.0f/s%s)%n",
        bestMode,
        bestCompute,
        Double.isNaN(bestCompute) ? "; not measured, add compute to --sections" : "");
    out.printf(
        "%7s %14s %24s %12s %22s%n",
        "clients", "(4)/(2) ceil", "(4)/min(2, compute)", "(4)/(5)", "journal cost (spreads)");
    ArrayNode ratios = run.json.putArray("ratios");
    for (int clients : o.clients()) {
      Stats full = medians.get("rendezvous").get(clients);
      Stats ceiling = medians.get("ceiling").get(clients);
      Stats noJournal = medians.get("rendezvous-no-journal").get(clients);
      double bound = Math.min(ceiling.median(), bestCompute);
      double cost = 1 - full.median() / noJournal.median();
      out.printf(
          "%7d %13.1f%% %23.1f%% %11.1f%% %9.1f%% (%.1f%%, %.1f%%)%n",
          clients,
          100 * full.median() / ceiling.median(),
          100 * full.median() / bound,
          100 * full.median() / noJournal.median(),
          100 * cost,
          full.spreadPercent(),
          noJournal.spreadPercent());
      ObjectNode r = ratios.addObject();
      r.put("clients", clients);
      r.put("full_over_ceiling", full.median() / ceiling.median());
      RunContext.putNumber(r, "full_over_min_ceiling_compute", full.median() / bound);
      r.put("full_over_no_journal", full.median() / noJournal.median());
      r.put("journal_cost", cost);
      r.put("spread_full", full.spreadPercent() / 100);
      r.put("spread_no_journal", noJournal.spreadPercent() / 100);
    }
    Map<String, Double> best = new LinkedHashMap<>();
    medians.forEach(
        (target, byClients) ->
            best.put(
                target,
                byClients.values().stream().mapToDouble(Stats::median).max().orElse(Double.NaN)));
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
    // on one machine HTTP and inference share the cores, so their costs add rather than the smaller
    // win
    double shared = 1 / (1 / best.get("ceiling") + 1 / bestCompute);
    out.printf(
        "  (4)/shared-core bound 1/(1/ceiling + 1/compute) = %.0f/s %6.1f%%%n",
        shared, 100 * best.get("rendezvous") / shared);
    out.printf(
        "  (4)/(5) journal on over journal off                  %6.1f%%   journal cost %.1f%%, target <= 3%%%n",
        100 * best.get("rendezvous") / best.get("rendezvous-no-journal"),
        100 * (1 - best.get("rendezvous") / best.get("rendezvous-no-journal")));
    ObjectNode h = run.json.putObject("headline");
    best.forEach((target, rate) -> h.put(target + "_per_second", rate));
    RunContext.putNumber(h, "combined_compute_best", bestCompute);
    h.put("combined_compute_best_mode", bestMode);
    h.put("full_over_ceiling", best.get("rendezvous") / best.get("ceiling"));
    RunContext.putNumber(h, "full_over_min_ceiling_compute", best.get("rendezvous") / bound);
    RunContext.putNumber(h, "shared_core_bound", shared);
    RunContext.putNumber(h, "full_over_shared_core_bound", best.get("rendezvous") / shared);
    h.put("journal_cost", 1 - best.get("rendezvous") / best.get("rendezvous-no-journal"));
    // the saturation point: the most the rendezvous answered while it still kept its promise (no
    // failed request, p99 within the SLA); a higher figure bought with 503s and 504s is not
    // sustainable
    double peak = best.get("rendezvous");
    double saturation = Double.NaN;
    int atClients = -1;
    for (var e : results.get("rendezvous").entrySet()) {
      Stats rate = medians.get("rendezvous").get(e.getKey());
      boolean kept =
          e.getValue().stream()
              .allMatch(
                  r -> r.tally().failed() == 0 && r.percentileMillis(99) <= run.sla.toMillis());
      if (kept && (Double.isNaN(saturation) || rate.median() > saturation)) {
        saturation = rate.median();
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
}

package io.rendezvous.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Stream;

/**
 * The rendezvous in the open model at 80% of the saturation point: an SLA check (latency from each
 * request's due time), then a soak at that rate in windows, with the heap after GC, the RSS and the
 * journal's size at its start and end.
 */
final class SlaSection {
  private static final int CORES = Runtime.getRuntime().availableProcessors();

  private final RunContext run;
  private final HarnessOptions o;
  private final PrintStream out;

  SlaSection(RunContext run) {
    this.run = run;
    this.o = run.options;
    this.out = run.out;
  }

  void check(HttpLoad.Target target, double saturation) throws Exception {
    double rate = 0.8 * saturation;
    warmOpen(target, rate);
    out.println();
    out.printf(
        "Open model at 80%% of the saturation point (%.0f/s): %.0f requests/s for %d s, latency from each"
            + " request's due time%n",
        saturation, rate, o.slaSeconds());
    HttpLoad.Outcome r =
        HttpLoad.open(
            target, rate, Duration.ofSeconds(o.slaSeconds()), o.openConnections(), run.sla);
    report("sla-check", target, r);
    ObjectNode s = run.json.putObject("sla_check");
    outcomeInto(s, r, rate);
  }

  /**
   * The open model runs code the closed-model runs did not (this generator, the schedule's later
   * stages, scores kept only for the record): on 2 cores the JIT compiled for 12-16 s of a 30 s SLA
   * check right after them. Rounds at the check's rate until one is quiet, at most --open-warmup
   * seconds, printed and not counted: the check and the soak measure a warm node, as its users meet
   * it after its first minutes (the first minute is bench/bin/first-contact's).
   */
  private void warmOpen(HttpLoad.Target target, double rate) throws InterruptedException {
    if (o.openWarmup() <= 0) {
      return;
    }
    HttpSection.JitRounds settled =
        HttpSection.untilJitQuiet(
            () ->
                HttpLoad.open(
                    target,
                    rate,
                    Duration.ofSeconds(HttpSection.JIT_ROUND_SECONDS),
                    o.openConnections(),
                    run.sla),
            // at most --open-warmup seconds of rounds, the last one started before they are up
            (o.openWarmup() + HttpSection.JIT_ROUND_SECONDS - 1) / HttpSection.JIT_ROUND_SECONDS);
    long jit = settled.last().jitMillis();
    out.println();
    out.printf(
        "Open-model warm-up at %.0f/s (not counted): %d round(s) of %d s; the last: %d ms of JIT,"
            + " %.3f%% within the SLA%n",
        rate,
        settled.rounds(),
        HttpSection.JIT_ROUND_SECONDS,
        jit,
        settled.last().withinSlaPercent());
    run.json.putObject("open_warmup").put("rounds", settled.rounds()).put("last_jit_ms", jit);
  }

  /** The soak; {@code dataDir} is the node's, whose journal it watches grow. */
  void soak(HttpLoad.Target target, double saturation, Path dataDir) throws Exception {
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
    ObjectNode s = run.json.putObject("soak");
    if (o.soakSettle() > 0) {
      // the forced GC above is the measurement's, not the node's: G1 shrinks the heap after it and
      // regrows it under load, so the first seconds after it are reported but not counted
      HttpLoad.Outcome settle =
          HttpLoad.open(
              target, rate, Duration.ofSeconds(o.soakSettle()), o.openConnections(), run.sla);
      out.printf(
          "  settling after the forced GC (not counted): %d s, %.3f%% within the SLA, %d failed%n",
          o.soakSettle(), settle.withinSlaPercent(), settle.tally().failed());
      s.put("settle_seconds", o.soakSettle());
      s.put("settle_within_sla", settle.tally().withinSla);
      s.put("settle_sent", settle.sent());
    }
    out.printf(
        "  %6s %10s %9s %9s %10s %8s %8s %12s %10s%n",
        "window",
        "sent/s",
        "p50 ms",
        "p99 ms",
        "within SLA",
        "failed",
        "CPU %",
        "heap used",
        "RSS");
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
              target, rate, Duration.ofSeconds(o.soakWindow()), o.openConnections(), run.sla);
      sent += r.sent();
      within += r.tally().withinSla;
      withinFromWrite += r.tally().withinSlaFromWrite;
      failed += r.tally().failed();
      long heapUsed = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
      long rss = rssBytes();
      out.printf(
          "  %6d %10.0f %9.2f %9.2f %9.3f%% %8d %7.0f%% %8.1f MiB %6.1f MiB%n",
          w,
          r.sent() / r.seconds(),
          r.percentileMillis(50),
          r.percentileMillis(99),
          r.withinSlaPercent(),
          r.tally().failed(),
          100 * shareOfCores(r),
          mib(heapUsed),
          mib(rss));
      ObjectNode wn = windows.addObject();
      outcomeInto(wn, r, rate);
      wn.put("heap_used_bytes", heapUsed);
      wn.put("rss_bytes", rss);
      run.csvRow("soak", target.name(), 0, w, r);
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
    nodeFigures(target);
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

  private void report(String section, HttpLoad.Target target, HttpLoad.Outcome r) {
    long sent = r.sent();
    out.printf(
        "  sent %d, answered 200 %d, within the %d ms SLA %d (%.3f%%), failed %d %s%n",
        sent,
        r.tally().answered,
        run.sla.toMillis(),
        r.tally().withinSla,
        r.withinSlaPercent(),
        r.tally().failed(),
        r.tally().failures.isEmpty() ? "" : r.tally().describeFailures());
    out.printf(
        "  latency p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms; answers by %s%n",
        r.percentileMillis(50),
        r.percentileMillis(99),
        r.percentileMillis(99.9),
        r.percentileMillis(100),
        r.tally().stages);
    // near saturation the host freezes busy vCPUs (docs/benchmarks.md): how busy the cores were
    out.printf(
        "  process CPU %.0f us per answer (the load generator's included), %.0f%% of %d cores%n",
        r.cpuMicrosPerAnswer(), 100 * shareOfCores(r), CORES);
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
    run.csvRow(section, target.name(), 0, 1, r);
  }

  private static void outcomeInto(ObjectNode n, HttpLoad.Outcome r, double rate) {
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
    n.put("cpu_us_per_answer", r.cpuMicrosPerAnswer());
    n.put("cpu_share_of_cores", shareOfCores(r));
    n.put("send_lag_p99_ms", r.sendLagMillis(99));
    n.put("send_lag_max_ms", r.sendLagMillis(100));
    ObjectNode f = n.putObject("failures");
    r.tally().failures.forEach(f::put);
    ObjectNode e = n.putObject("failure_examples");
    r.tally().samples.forEach(e::put);
  }

  /**
   * The node's own account, from its readiness figures (since its warm-up, closed-model runs
   * included): late deliveries and where their time went, and the edge's queue.
   */
  private void nodeFigures(HttpLoad.Target target) {
    try {
      java.net.http.HttpResponse<String> r =
          java.net.http.HttpClient.newHttpClient()
              .send(
                  java.net.http.HttpRequest.newBuilder(
                          java.net.URI.create(
                              "http://" + target.host() + ":" + target.port() + "/v2/health/ready"))
                      .build(),
                  java.net.http.HttpResponse.BodyHandlers.ofString());
      com.fasterxml.jackson.databind.JsonNode figures =
          io.rendezvous.actors.edge.Json.MAPPER.readTree(r.body()).path("figures");
      StringBuilder line = new StringBuilder("  the node's figures since its warm-up:");
      for (String name :
          java.util.List.of(
              "late_deliveries.rendezvous",
              "late_delivery_max_us.rendezvous",
              "edge_queue_wait_mean_us",
              "edge_queue_wait_max_us",
              "entity_timer_late_mean_us",
              "entity_timer_late_max_us",
              "journal_queue_wait_mean_us",
              "journal_queue_wait_max_us")) {
        line.append(' ').append(name).append('=').append(figures.path(name).asText("?"));
      }
      out.println(line);
    } catch (Exception e) {
      out.println("  (the node's figures could not be read: " + e + ")");
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

  /** How much of this machine's cores the process used over {@code r}, 0-1. */
  private static double shareOfCores(HttpLoad.Outcome r) {
    return r.cpuSeconds() / r.seconds() / CORES;
  }

  static double mib(long bytes) {
    return bytes / (1024.0 * 1024.0);
  }
}

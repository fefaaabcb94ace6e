package io.rendezvous.node.freshness;

import com.fasterxml.jackson.databind.JsonNode;
import io.rendezvous.actors.edge.Json;
import java.io.File;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs {@link RetrainMain} as a child process at low priority ({@code nice}), with this JVM's flags
 * (the native library path, the module opens) but its own heap, so that training takes only the CPU
 * serving leaves. Blocking: run it on a blocking dispatcher.
 */
public final class ChildTrainer {
  private ChildTrainer() {}

  /** What one run asks for. */
  public record Request(
      String model,
      List<Correction> corrections,
      Path liveStore,
      String liveVersion,
      long seed,
      int weight,
      boolean shuffleLabels,
      Path journal,
      String endpoint) {}

  /**
   * Trains in {@code runDir} (the training set, the candidate store, the log and the report go
   * there); the report as {@link RetrainMain} wrote it.
   */
  public static JsonNode run(Request r, Path runDir, FreshnessSettings s)
      throws IOException, InterruptedException {
    Files.createDirectories(runDir);
    Path set = runDir.resolve("corrections.bin");
    TrainingSet.write(set, r.corrections());
    Path report = runDir.resolve("report.json");
    Path log = runDir.resolve("train.log");
    List<String> cmd = new ArrayList<>();
    if (s.niceness() > 0 && new File("/usr/bin/nice").canExecute()) {
      cmd.addAll(List.of("/usr/bin/nice", "-n", Integer.toString(s.niceness())));
    }
    cmd.add(javaBinary());
    for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      // the heap is the child's own; agents, debuggers and recordings stay with the node
      if (a.startsWith("-Xmx")
          || a.startsWith("-Xms")
          || a.startsWith("-agentlib")
          || a.startsWith("-javaagent")
          || a.startsWith("-XX:StartFlightRecording")
          || a.startsWith("-XX:FlightRecorderOptions")
          || (a.startsWith("-XX:+Use") && a.endsWith("GC"))
          || a.startsWith("-XX:TieredStopAtLevel")
          || a.startsWith("-Dpekko.")
          || a.startsWith("-Drendezvous.")) {
        continue;
      }
      cmd.add(a);
    }
    cmd.add("-Xmx" + s.childHeap());
    // a short-lived batch job: the quick compiler only and one GC thread leave more of the CPU
    // that serving does not use to the training itself
    cmd.add("-XX:TieredStopAtLevel=1");
    cmd.add("-XX:+UseSerialGC");
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(RetrainMain.class.getName());
    cmd.addAll(
        List.of(
            "--model",
            r.model(),
            "--corrections",
            set.toString(),
            "--out",
            runDir.resolve("store").toString(),
            "--live-store",
            r.liveStore().toString(),
            "--live-version",
            r.liveVersion(),
            "--report",
            report.toString(),
            "--seed",
            Long.toString(r.seed()),
            "--weight",
            Integer.toString(r.weight())));
    if (r.shuffleLabels()) {
      cmd.add("--shuffle-labels");
    }
    if (r.journal() != null && !s.recentTraffic().isZero()) {
      cmd.addAll(
          List.of(
              "--journal",
              r.journal().toString(),
              "--endpoint",
              r.endpoint(),
              "--recent",
              s.recentTraffic().toString(),
              "--recent-sample",
              Double.toString(s.recentTrafficSample())));
    }
    if (s.warmStart()) {
      cmd.addAll(List.of("--warm-start", "--epochs", Integer.toString(s.warmStartEpochs())));
    }
    Process p =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.to(log.toFile()))
            .start();
    Duration timeout = s.trainTimeout();
    if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
      throw new IOException(
          "training " + r.model() + " took longer than " + timeout + " (its log: " + log + ")");
    }
    if (p.exitValue() != 0 || !Files.isRegularFile(report)) {
      throw new IOException(
          "training "
              + r.model()
              + " failed with exit code "
              + p.exitValue()
              + ": "
              + tail(log)
              + " (its log: "
              + log
              + ")");
    }
    return Json.MAPPER.readTree(Files.readString(report));
  }

  private static String javaBinary() {
    return ProcessHandle.current()
        .info()
        .command()
        .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
  }

  private static String tail(Path log) {
    try {
      List<String> lines = Files.readAllLines(log);
      return String.join(" | ", lines.subList(Math.max(0, lines.size() - 3), lines.size()));
    } catch (IOException e) {
      return "(no log)";
    }
  }
}

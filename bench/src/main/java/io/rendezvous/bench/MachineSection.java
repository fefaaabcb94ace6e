package io.rendezvous.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rendezvous.workers.ModelSettings;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The machine and the run's settings: the console's first lines, summary.json's machine and run.
 */
final class MachineSection {
  private final RunContext run;
  private final HarnessOptions o;
  private final PrintStream out;

  MachineSection(RunContext run) {
    this.run = run;
    this.o = run.options;
    this.out = run.out;
  }

  void run() throws IOException {
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
        ModelSettings.allFromConfig(run.config).stream()
            .filter(m -> m.name().equals("m3"))
            .findFirst()
            .orElseThrow();
    ObjectNode m = run.json.putObject("machine");
    m.put("cpu", cpu);
    m.put("cores", cores);
    m.put("java", System.getProperty("java.version"));
    m.put("heap_max_mib", heapMax >> 20);
    m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version"));
    ObjectNode r = run.json.putObject("run");
    r.put("label", o.label());
    r.put("started", LocalDateTime.now().toString());
    r.put("seconds_per_run", o.seconds());
    r.put("repeats", o.repeats());
    r.put("sla_ms", run.sla.toMillis());
    r.put("max_batch_size", m3.maxBatchSize());
    r.put("max_batch_delay_ms", m3.maxBatchDelay().toNanos() / 1e6);
    // each model's own: the cheap fallbacks batch bigger than m3
    Map<Integer, List<String>> byBatch = new TreeMap<>(java.util.Comparator.reverseOrder());
    ModelSettings.allFromConfig(run.config)
        .forEach(
            s -> byBatch.computeIfAbsent(s.maxBatchSize(), k -> new ArrayList<>()).add(s.name()));
    ObjectNode batches = r.putObject("max_batch_sizes");
    byBatch.forEach((size, names) -> names.forEach(n -> batches.put(n, size)));
    StringBuilder batchText = new StringBuilder();
    byBatch.forEach(
        (size, names) ->
            batchText
                .append(batchText.length() == 0 ? "" : ", ")
                .append(size)
                .append(" (")
                .append(String.join(" ", names))
                .append(')'));
    ArrayNode sets = r.putArray("config_overrides");
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
            + "micro-batches up to %s, max batch delay %s ms%s%n",
        o.seconds(),
        o.repeats(),
        run.sla.toMillis(),
        batchText,
        m3.maxBatchDelay().toNanos() / 1e6,
        o.sets().isEmpty() ? "" : ", overrides " + o.sets());
  }
}

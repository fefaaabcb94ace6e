package io.rendezvous.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.rendezvous.actors.edge.Json;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * What the sections of one harness run share: the options, the node config, the console, and what
 * has been measured so far (CSV rows and the summary JSON), written out at the end.
 */
final class RunContext {
  static final String CSV_HEADER =
      "label,section,target,clients,repeat,seconds,sent,answered,failed,per_second,p50_ms,p90_ms,p99_ms,p999_ms,max_ms,cpu_us_per_answer,jit_ms";

  final HarnessOptions options;
  final PrintStream out;
  final Config config;
  final Duration sla;

  /** summary.json; each section adds its own fields. */
  final ObjectNode json = Json.object();

  /**
   * The journal writer's thread CPU per request story, from the journal section (NaN until it ran):
   * the HTTP summary sets it against the CPU per answered request.
   */
  double writerCpuMicrosPerStory = Double.NaN;

  private final List<String> csv = new ArrayList<>();

  RunContext(HarnessOptions options, PrintStream out) {
    this.options = options;
    this.out = out;
    this.config = nodeConfig(Path.of("unused"), "");
    this.sla = config.getDuration("rendezvous.endpoints.rendezvous.sla");
    csv.add(CSV_HEADER);
  }

  /** A node's config: the run's --set overrides, then {@code extra}, on loopback and port 0. */
  Config nodeConfig(Path dataDir, String extra) {
    StringBuilder sets = new StringBuilder();
    options.sets().forEach(s -> sets.append(s).append('\n'));
    return ConfigFactory.load(
        ConfigFactory.parseString(
                sets
                    + extra
                    + "\n"
                    + "rendezvous.data-dir = \""
                    + dataDir.toString().replace("\\", "/")
                    + "\"\n"
                    + "rendezvous.http.port = 0\n"
                    + "rendezvous.grpc.port = 0\n"
                    + "pekko.remote.artery.canonical.port = 0\n"
                    + "pekko.management.http.port = 0\n"
                    + "pekko.coordinated-shutdown.exit-jvm = off\n"
                    + "pekko.loglevel = WARNING\n")
            .withFallback(ConfigFactory.parseResourcesAnySyntax("application")));
  }

  /** One CSV row: the run's label, then {@code columns} (the header's, from section on). */
  void csvRow(String... columns) {
    csv.add(csvLabel() + "," + String.join(",", columns));
  }

  /** One CSV row of an HTTP run. */
  void csvRow(String section, String target, int clients, int repeat, HttpLoad.Outcome r) {
    csvRow(
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
        String.valueOf(r.jitMillis()));
  }

  private String csvLabel() {
    return "\"" + options.label().replace("\"", "'") + "\"";
  }

  void write() throws IOException {
    Files.write(options.out().resolve("runs.csv"), csv);
    Files.writeString(
        options.out().resolve("summary.json"),
        Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(json));
    out.println();
    out.println(
        "Results written to "
            + options.out().resolve("runs.csv")
            + " and "
            + options.out().resolve("summary.json"));
  }

  /** A CSV figure, empty when it was not measured. */
  static String fmt(double v) {
    return Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.3f", v);
  }

  /** A figure, or JSON null when it was not measured (NaN is not JSON). */
  static void putNumber(ObjectNode o, String field, double value) {
    if (Double.isNaN(value)) {
      o.putNull(field);
    } else {
      o.put(field, value);
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
}

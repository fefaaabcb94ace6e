package io.rendezvous.bench;

import io.rendezvous.bench.Converters.AboveZero;
import io.rendezvous.bench.Converters.AtLeastOne;
import io.rendezvous.bench.Converters.AtLeastZero;
import io.rendezvous.node.Node;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

/** {@code rendezvous-bench harness}: the harness's command line; the run is {@link Harness}. */
@Command(
    name = "harness",
    mixinStandardHelpOptions = true,
    version = "rendezvous-bench " + Node.VERSION,
    sortOptions = false,
    description = {
      "Measures Rendezvous against its own ceilings on this machine, with the same payloads"
          + " throughout: in-process compute, the journal alone, HTTP targets in the closed model,"
          + " the saturation point, an open-model SLA check at 80%% of it and a soak.",
      "Prints tables and writes runs.csv and summary.json to --out."
    })
final class HarnessCommand implements Callable<Integer> {
  static final List<String> SECTIONS = List.of("compute", "journal", "http");
  static final List<String> TARGETS =
      List.of(
          "ceiling",
          "m3-infer",
          "rendezvous",
          "rendezvous-no-journal",
          "text",
          "oip-json",
          "oip-json-17",
          "oip-binary",
          "grpc");

  /** The targets the ratios, the saturation point and the soak are figured from. */
  static final List<String> RATIO_TARGETS = TARGETS.subList(0, 4);

  @Option(
      names = "--seconds",
      paramLabel = "N",
      defaultValue = "5",
      converter = AtLeastOne.class,
      description = "Length of each closed-model run (default: ${DEFAULT-VALUE}).")
  int seconds;

  @Option(
      names = "--repeats",
      paramLabel = "R",
      defaultValue = "3",
      converter = AtLeastOne.class,
      description =
          "Runs per target and concurrency, and per compute and journal mode (default:"
              + " ${DEFAULT-VALUE}).")
  int repeats;

  @Option(
      names = "--clients",
      paramLabel = "N",
      split = ",",
      defaultValue = "1,4,16,64",
      converter = AtLeastOne.class,
      description = "Concurrencies of the closed-model runs (default: ${DEFAULT-VALUE}).")
  List<Integer> clients;

  @Option(
      names = "--warmup",
      paramLabel = "S",
      defaultValue = "10",
      converter = AtLeastZero.class,
      description =
          "Seconds of warm-up per target at 16 clients, after JIT rounds at 2 clients; 0 leaves"
              + " the warm-up out (default: ${DEFAULT-VALUE}).")
  int warmup;

  @Option(
      names = "--compute-seconds",
      paramLabel = "S",
      defaultValue = "2",
      converter = AtLeastOne.class,
      description = "Length of each compute and journal run (default: ${DEFAULT-VALUE}).")
  int computeSeconds;

  @Option(
      names = "--sla-seconds",
      paramLabel = "S",
      defaultValue = "30",
      converter = AtLeastOne.class,
      description = "Length of the open-model SLA check (default: ${DEFAULT-VALUE}).")
  int slaSeconds;

  @Option(
      names = "--soak-seconds",
      paramLabel = "S",
      defaultValue = "300",
      converter = AtLeastZero.class,
      description = "Length of the soak; 0 leaves it out (default: ${DEFAULT-VALUE}).")
  int soakSeconds;

  @Option(
      names = "--soak-window",
      paramLabel = "S",
      defaultValue = "30",
      converter = AtLeastOne.class,
      description = "Length of each soak window (default: ${DEFAULT-VALUE}).")
  int soakWindow;

  @Option(
      names = "--soak-settle",
      paramLabel = "S",
      defaultValue = "10",
      converter = AtLeastZero.class,
      description =
          "Seconds of load at the soak's rate after the forced GC that measures the heap, reported"
              + " but not counted (default: ${DEFAULT-VALUE}).")
  int soakSettle;

  @Option(
      names = "--open-warmup",
      paramLabel = "S",
      defaultValue = "120",
      converter = AtLeastZero.class,
      description =
          "Before the SLA check: rounds of the open model at its rate until the JIT is quiet in"
              + " one, for at most S seconds; printed, not counted (default: ${DEFAULT-VALUE}).")
  int openWarmup;

  @Option(
      names = "--open-connections",
      paramLabel = "N",
      defaultValue = "256",
      converter = AtLeastOne.class,
      description = "Connections of the open-model runs (default: ${DEFAULT-VALUE}).")
  int openConnections;

  @Option(
      names = "--out",
      paramLabel = "DIR",
      description =
          "Where runs.csv and summary.json go (default: bench-results/<yyyyMMdd-HHmmss>).")
  Path out;

  @Option(
      names = "--label",
      paramLabel = "TEXT",
      defaultValue = "",
      description = "A label written with the results.")
  String label;

  @Option(
      names = "--sections",
      paramLabel = "SECTION",
      split = ",",
      defaultValue = "compute,journal,http",
      converter = Section.class,
      description =
          "Which sections run, some of compute, journal, http (default: ${DEFAULT-VALUE}).")
  List<String> sections;

  @Option(
      names = "--targets",
      paramLabel = "TARGET",
      split = ",",
      defaultValue = "ceiling,m3-infer,rendezvous,rendezvous-no-journal,text",
      converter = Target.class,
      description = "Which HTTP targets run (default: ${DEFAULT-VALUE}).")
  List<String> targets;

  @Option(
      names = "--rate",
      paramLabel = "R",
      converter = AboveZero.class,
      description =
          "Run only the open-model SLA check and soak, at R requests/s, instead of the closed-model"
              + " runs and 80%% of their saturation point.")
  double rate;

  @Option(
      names = "--set",
      paramLabel = "KEY=VALUE",
      converter = Setting.class,
      description =
          "Any node setting, e.g. rendezvous.model-defaults.max-batch-size=1; repeatable.")
  List<String> sets;

  @Option(
      names = "--keep-journal",
      description =
          "Keep the journal-on node's data directory (its journal: every request's input, scores"
              + " with their arrival times, and answer) after the run and print where it is, to look"
              + " into failures with 'rendezvous journal-dump --id'.")
  boolean keepJournal;

  /** Parses a harness command line without running it; a bad one throws. */
  static HarnessOptions parse(String... args) {
    HarnessCommand command = new HarnessCommand();
    new CommandLine(command).parseArgs(args);
    return command.options();
  }

  HarnessOptions options() {
    Path dir =
        out != null
            ? out
            : Path.of(
                "bench-results",
                LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
    return new HarnessOptions(
        seconds,
        repeats,
        List.copyOf(clients),
        warmup,
        computeSeconds,
        slaSeconds,
        soakSeconds,
        soakWindow,
        soakSettle,
        openWarmup,
        dir,
        label,
        sets == null ? List.of() : List.copyOf(sets),
        openConnections,
        List.copyOf(sections),
        List.copyOf(targets),
        rate,
        keepJournal);
  }

  @Override
  public Integer call() throws Exception {
    return Harness.run(options(), System.out);
  }

  static final class Section implements ITypeConverter<String> {
    @Override
    public String convert(String value) {
      return oneOf(SECTIONS, value);
    }
  }

  static final class Target implements ITypeConverter<String> {
    @Override
    public String convert(String value) {
      return oneOf(TARGETS, value);
    }
  }

  /** A config override: only checked for its '='; the node's config parser has the last word. */
  static final class Setting implements ITypeConverter<String> {
    @Override
    public String convert(String value) {
      if (!value.contains("=")) {
        throw new TypeConversionException("takes key=value, got " + value);
      }
      return value;
    }
  }

  private static String oneOf(List<String> names, String value) {
    String name = value.trim();
    if (!names.contains(name)) {
      throw new TypeConversionException("takes some of " + names + ", got " + value);
    }
    return name;
  }
}

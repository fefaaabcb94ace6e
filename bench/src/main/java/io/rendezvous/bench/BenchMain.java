package io.rendezvous.bench;

import io.rendezvous.node.Node;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The bench's entry point ({@code bench/bin/rendezvous-bench}): {@code harness}, {@code
 * cluster-proof}, {@code kafka}, {@code decode}, {@code feedback-proof}, {@code cpu-steadiness}. A
 * bad command line exits 2 with the usage; a failed run exits 1.
 */
@Command(
    name = "rendezvous-bench",
    mixinStandardHelpOptions = true,
    version = "rendezvous-bench " + Node.VERSION,
    description = "The benchmark and proof tooling of Rendezvous.",
    subcommands = {
      HarnessCommand.class,
      ClusterProof.class,
      KafkaBench.class,
      DecodeBench.class,
      FeedbackProof.class,
      FreshnessProof.class,
      CpuSteadiness.class
    })
public final class BenchMain implements Callable<Integer> {
  @Spec CommandSpec spec;

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  static CommandLine commandLine() {
    return new CommandLine(new BenchMain());
  }

  @Override
  public Integer call() {
    // thrown rather than printed, so that picocli answers as for any bad command line: usage, 2
    throw new ParameterException(
        spec.commandLine(), "Missing command: harness, cluster-proof, kafka or decode");
  }
}

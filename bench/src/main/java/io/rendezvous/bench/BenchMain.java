package io.rendezvous.bench;

import java.util.Arrays;

/** The bench's entry point: {@code harness}, {@code cluster-proof}, {@code kafka}. */
public final class BenchMain {
  private BenchMain() {}

  public static void main(String[] args) throws Exception {
    String command = args.length == 0 ? "" : args[0];
    String[] rest = args.length == 0 ? args : Arrays.copyOfRange(args, 1, args.length);
    switch (command) {
      case "harness" -> System.exit(Harness.run(rest, System.out));
      case "cluster-proof" -> System.exit(ClusterProof.run(rest, System.out));
      case "kafka" -> System.exit(KafkaBench.run(rest, System.out));
      default -> {
        System.err.println("usage: rendezvous-bench harness|cluster-proof|kafka [options]");
        System.exit(2);
      }
    }
  }
}

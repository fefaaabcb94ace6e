package io.rendezvous.node;

import io.rendezvous.workers.ModelLoadException;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * What operators run: {@code serve} (the default) runs a node; {@code journal-dump} prints
 * journals; {@code admin} drives a node's admin API; {@code train} trains a new model version into
 * a store. The project's own Kafka broker runs in a JVM of its own with the broker's jars ({@code
 * node/bin/kafka-broker}, {@link io.rendezvous.kafka.KafkaBrokerMain}); the benchmark tooling has
 * its own entry point in the bench module.
 */
@Command(
    name = "rendezvous",
    mixinStandardHelpOptions = true,
    version = Node.VERSION,
    description = "A rendezvous-architecture model server.",
    subcommands = {
      Main.Serve.class,
      JournalDump.class,
      io.rendezvous.node.freshness.ReplayCommand.class,
      AdminCli.class,
      Main.Train.class,
      TrainText.class
    })
public final class Main implements Callable<Integer> {
  private static final Logger log = LoggerFactory.getLogger(Main.class);

  public static void main(String[] args) {
    String[] command = args.length == 0 ? new String[] {"serve"} : args;
    CommandLine cl = new CommandLine(new Main());
    int rc = cl.execute(command);
    // a node that started runs on its actor system's threads until it is stopped, and its
    // CoordinatedShutdown ends the JVM; every other command ends here
    CommandLine.ParseResult parsed = cl.getParseResult();
    boolean serving =
        rc == 0
            && parsed.hasSubcommand()
            && parsed.subcommand().commandSpec().userObject() instanceof Serve;
    if (!serving) {
      System.exit(rc);
    }
  }

  @Override
  public Integer call() {
    new CommandLine(this).usage(System.err);
    return 2;
  }

  /**
   * Starts a node, which runs until it is stopped (SIGTERM or SIGINT leave the cluster gracefully).
   */
  @Command(
      name = "serve",
      mixinStandardHelpOptions = true,
      description = "Run a node: its models, the cluster, the journal and the HTTP API.")
  static final class Serve implements Callable<Integer> {
    @Override
    public Integer call() {
      Node node;
      try {
        node = Node.start();
      } catch (ModelLoadException e) {
        log.error("{}", e.getMessage(), e.getCause());
        return 1;
      } catch (Exception e) {
        log.error("node failed to start: {}", e.getMessage(), e);
        return 1;
      }
      // SIGTERM/SIGINT run the graceful shutdown ourselves, so the JVM exits through it with status
      // 0 (a signal that reaches the JVM's own shutdown hooks would end it with 143)
      for (String signal : new String[] {"TERM", "INT"}) {
        sun.misc.Signal.handle(
            new sun.misc.Signal(signal),
            s -> {
              log.info("SIG{} received: leaving the cluster and stopping", signal);
              node.stop();
            });
      }
      return 0;
    }
  }

  /** Trains the default models' architectures into a store, as new versions. */
  @Command(
      name = "train",
      mixinStandardHelpOptions = true,
      description =
          "Train new versions into a model store (the build's default models, or one with another"
              + " seed).")
  static final class Train implements Callable<Integer> {
    @picocli.CommandLine.Option(
        names = "--store",
        description = "the model store (default: $RENDEZVOUS_MODELS_DIR or models)")
    String store;

    @picocli.CommandLine.Option(names = "--model", description = "m1, m2 or m3 (default: all)")
    String model;

    @picocli.CommandLine.Option(names = "--seed", description = "another seed: a new version")
    Long seed;

    @picocli.CommandLine.Option(names = "--force", description = "train even if up to date")
    boolean force;

    @Override
    public Integer call() throws Exception {
      String dir = store;
      if (dir == null) {
        String env = System.getenv("RENDEZVOUS_MODELS_DIR");
        dir = env == null || env.isBlank() ? "models" : env;
      }
      java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of(dir));
      if (force) {
        args.add("--force");
      }
      if (model != null) {
        args.addAll(java.util.List.of("--model", model));
      }
      if (seed != null) {
        args.addAll(java.util.List.of("--seed", Long.toString(seed)));
      }
      io.rendezvous.workers.training.Trainer.main(args.toArray(String[]::new));
      return 0;
    }
  }
}

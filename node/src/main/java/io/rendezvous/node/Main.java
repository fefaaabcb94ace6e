package io.rendezvous.node;

import io.rendezvous.workers.ModelLoadException;
import java.util.Arrays;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code serve} (default): run a node. {@code journal-dump [--id ID] DIR...}: print journals as
 * JSON lines, merged by time. {@code bench [options]}: the benchmark harness ({@link
 * io.rendezvous.node.bench.Harness}).
 */
public final class Main {
  private static final Logger log = LoggerFactory.getLogger(Main.class);

  private Main() {}

  public static void main(String[] args) throws Exception {
    String command = args.length == 0 ? "serve" : args[0];
    String[] rest = args.length == 0 ? args : Arrays.copyOfRange(args, 1, args.length);
    switch (command) {
      case "serve" -> serve();
      case "journal-dump" -> System.exit(JournalDump.run(rest, System.out, System.err));
      case "bench" -> System.exit(io.rendezvous.node.bench.Harness.run(rest, System.out));
      case "cluster-proof" -> System.exit(ClusterProof.run(rest, System.out));
      case "kafka-bench" -> System.exit(KafkaBench.run(rest, System.out));
      default -> {
        System.err.println(
            "usage: rendezvous [serve | journal-dump [--id REQUEST_ID] JOURNAL_DIR... | bench [--seconds N] [--repeats R] [--clients LIST] [--soak-seconds S] [--out DIR] [--set key=value]... | cluster-proof [--seconds N] [--rate R] [--kill-at S] [--signal KILL|TERM] [--warmup S] | kafka-bench [--requests N] [--rate R] [--seconds S]]");
        System.exit(2);
      }
    }
  }

  private static void serve() {
    try {
      Node node = Node.start();
      // SIGTERM/SIGINT run the graceful shutdown ourselves, so the JVM exits through it with status
      // 0
      // (a signal that reaches the JVM's own shutdown hooks would end it with 143)
      for (String signal : new String[] {"TERM", "INT"}) {
        sun.misc.Signal.handle(
            new sun.misc.Signal(signal),
            s -> {
              log.info("SIG{} received: leaving the cluster and stopping", signal);
              node.stop();
            });
      }
    } catch (ModelLoadException e) {
      log.error("{}", e.getMessage(), e.getCause());
      System.exit(1);
    } catch (Exception e) {
      log.error("node failed to start: {}", e.getMessage(), e);
      System.exit(1);
    }
  }
}

package io.rendezvous.bench;

import io.rendezvous.node.Node;
import io.rendezvous.workers.data.FashionMnist;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * {@code rendezvous-bench harness}: measures Rendezvous against its own ceilings in one run on this
 * machine, with the same payloads throughout (hold-out images as JSON).
 *
 * <ol>
 *   <li>in-process compute of each model through DJL ({@link ComputeSection});
 *   <li>the HTTP ceiling ({@code /bench/ceiling}: same HTTP stack and JSON decoding, no model);
 *   <li>one model over HTTP ({@code /v2/models/m3/infer});
 *   <li>the full rendezvous ({@code /predict}, journal on);
 *   <li>the same with the journal off (a second node in this JVM);
 * </ol>
 *
 * 2 to 5 run at several concurrencies, interleaved, each repeated ({@link HttpSection}). Then the
 * saturation point, an open-model run at 80% of it checked against the SLA, and a soak at that rate
 * ({@link SlaSection}). Between 1 and 2, the journal alone ({@link JournalSection}). Results go to
 * CSV and JSON as well as the console. Bounded: every phase has a fixed length.
 */
final class Harness {
  private Harness() {}

  static int run(HarnessOptions o, PrintStream out) throws Exception {
    RunContext run = new RunContext(o, out);
    Files.createDirectories(o.out());
    List<FashionMnist.Sample> holdout = FashionMnist.load().holdout();
    new MachineSection(run).run();
    Map<String, Double> combined =
        o.sections().contains("compute") ? new ComputeSection(run).run(holdout) : Map.of();
    if (o.sections().contains("journal")) {
      new JournalSection(run).run(holdout);
    }
    if (o.sections().contains("http")) {
      overHttp(run, holdout, combined);
    }
    run.write();
    return 0;
  }

  /**
   * Two nodes in this JVM, journal on (with the ceiling route) and off; the closed-model runs and
   * their summary, unless --rate gives the open-model rate; then the SLA check and the soak.
   */
  /**
   * Longest wait for the two nodes' warm-ups, which run at once and each may take its whole timeout
   * (120 s by default): the same 300 s as every script that waits for ready.
   */
  private static final long READY_WAIT_MINUTES = 5;

  private static void overHttp(
      RunContext run, List<FashionMnist.Sample> holdout, Map<String, Double> combined)
      throws Exception {
    HarnessOptions o = run.options;
    Path dataOn = Files.createTempDirectory("rendezvous-bench-on");
    Path dataOff = Files.createTempDirectory("rendezvous-bench-off");
    Node on =
        Node.start(
            run.nodeConfig(dataOn, "rendezvous.node-name = \"bench-journal-on\""),
            List.of(CeilingRoute.EXTENSION));
    Node off =
        Node.start(
            run.nodeConfig(
                dataOff,
                "rendezvous.node-name = \"bench-journal-off\"\n"
                    + "rendezvous.journal.enabled = off"));
    try {
      // as a user waits for ready: each node's own warm-up is over before any measured load
      on.warmedUp().toCompletableFuture().get(READY_WAIT_MINUTES, TimeUnit.MINUTES);
      off.warmedUp().toCompletableFuture().get(READY_WAIT_MINUTES, TimeUnit.MINUTES);
      HttpSection http = new HttpSection(run);
      List<HttpLoad.Target> targets =
          HttpSection.targets(holdout, on.httpPort(), off.httpPort(), on.grpcPort());
      HttpLoad.Target rendezvous = targets.get(2);
      double saturation;
      if (o.rate() > 0) {
        // a given rate instead of a measured saturation point: the open-model checks run at exactly
        // R
        saturation = o.rate() / 0.8;
        if (o.warmup() > 0) {
          http.warmUp(rendezvous);
        }
      } else {
        saturation =
            http.summarize(
                http.run(targets.stream().filter(t -> o.targets().contains(t.name())).toList()),
                combined);
      }
      if (!Double.isNaN(saturation)) {
        SlaSection sla = new SlaSection(run);
        sla.check(rendezvous, saturation);
        sla.soak(rendezvous, saturation, dataOn);
      }
    } finally {
      on.stop().toCompletableFuture().get(60, TimeUnit.SECONDS);
      off.stop().toCompletableFuture().get(60, TimeUnit.SECONDS);
      if (o.keepJournal()) {
        run.out.println("journal kept: " + dataOn.resolve("journal"));
      } else {
        RunContext.deleteTree(dataOn);
      }
      RunContext.deleteTree(dataOff);
    }
  }
}

package io.rendezvous.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.rendezvous.actors.edge.Json;
import io.rendezvous.node.TestNode;
import io.rendezvous.workers.data.FashionMnist;
import io.rendezvous.workers.data.HoldoutBodies;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.ParameterException;

/**
 * The bench's parts: the ceiling route (off unless asked for), the load generator's counting, the
 * command lines.
 */
class BenchmarkToolsTest {
  @TempDir Path dir;

  static List<byte[]> bodies(int n) {
    return FashionMnist.load().holdout().stream()
        .limit(n)
        .map(s -> HoldoutBodies.json(s).getBytes(StandardCharsets.UTF_8))
        .toList();
  }

  @Test
  void theCeilingRouteIsOffUnlessTheBenchAddsIt() throws Exception {
    try (TestNode node = TestNode.start(dir, "")) {
      HttpResponse<String> r = node.post("/bench/ceiling", "application/json", bodies(1).get(0));
      assertEquals(404, r.statusCode(), r.body());
    }
  }

  @Test
  void theCeilingRouteDecodesLikePredictAndTheLoadGeneratorCountsOnlyGoodAnswers()
      throws Exception {
    try (TestNode node = TestNode.start(dir, "", List.of(CeilingRoute.EXTENSION))) {
      HttpResponse<String> ok = node.post("/bench/ceiling", "application/json", bodies(1).get(0));
      assertEquals(200, ok.statusCode(), ok.body());
      JsonNode p = Json.MAPPER.readTree(ok.body()).get("predictions");
      assertEquals(1, p.size());
      assertEquals(10, p.get(0).get("probabilities").size());
      // the same decoder as /predict: the same 4xx for the same mistakes
      HttpResponse<String> bad =
          node.post(
              "/bench/ceiling",
              "application/json",
              "{\"instances\":[[1,2]]}".getBytes(StandardCharsets.UTF_8));
      assertEquals(400, bad.statusCode());
      assertTrue(bad.body().contains("has 2 values"), bad.body());

      int port = node.node.httpPort();
      List<byte[]> good = bodies(20);
      HttpLoad.Target predict =
          new HttpLoad.Target(
              "predict",
              "127.0.0.1",
              port,
              "/predict",
              "application/json",
              good,
              "\"predictions\"");
      HttpLoad.Outcome closed =
          HttpLoad.closed(predict, 2, Duration.ofSeconds(1), Duration.ofSeconds(5));
      assertTrue(closed.tally().answered > 0);
      assertEquals(0, closed.tally().failed(), closed.tally().failures.toString());
      assertEquals(closed.sent(), closed.tally().answered);
      assertTrue(
          closed.tally().stages.keySet().stream().allMatch(s -> s.startsWith("stage ")),
          closed.tally().stages.toString());

      // open model: a fixed number of requests, each either answered or counted as failed by status
      List<byte[]> mixed =
          List.of(good.get(0), "{\"instances\":[[1]]}".getBytes(StandardCharsets.UTF_8));
      HttpLoad.Target half =
          new HttpLoad.Target(
              "mixed", "127.0.0.1", port, "/predict", "application/json", mixed, "\"predictions\"");
      HttpLoad.Outcome open =
          HttpLoad.open(half, 40, Duration.ofSeconds(1), 4, Duration.ofSeconds(5));
      assertEquals(40, open.sent());
      assertEquals(20, open.tally().answered);
      assertEquals(20L, open.tally().failures.get("status 400"));
      // and what the server said about them is kept as an example
      assertTrue(
          open.tally().samples.get("status 400").contains("784"), open.tally().samples.toString());
      assertEquals(20, open.tally().withinSla);
      // one connection for requests due faster than it is answered: each waits for it, none is lost
      HttpLoad.Outcome queued =
          HttpLoad.open(predict, 200, Duration.ofMillis(150), 1, Duration.ofSeconds(5));
      assertEquals(30, queued.sent());
      assertEquals(30, queued.tally().answered, queued.tally().describeFailures());
    }
  }

  @Test
  void theHarnessDefaultsAreTheOnesItAlwaysHad() {
    HarnessOptions o = HarnessCommand.parse();
    assertEquals(
        new HarnessOptions(
            5,
            3,
            List.of(1, 4, 16, 64),
            10,
            2,
            30,
            300,
            30,
            10,
            120,
            o.out(),
            "",
            List.of(),
            256,
            List.of("compute", "journal", "http"),
            List.of("ceiling", "m3-infer", "rendezvous", "rendezvous-no-journal", "text"),
            0,
            false),
        o);
    assertTrue(o.out().toString().matches("bench-results.\\d{8}-\\d{6}"), o.out().toString());
  }

  @Test
  void everyHarnessOptionIsParsedIntoItsField() {
    HarnessOptions o =
        HarnessCommand.parse(
            "--seconds",
            "7",
            "--repeats",
            "2",
            "--clients",
            "2, 8",
            "--warmup",
            "0",
            "--compute-seconds",
            "1",
            "--sla-seconds",
            "4",
            "--soak-seconds",
            "0",
            "--soak-window",
            "6",
            "--soak-settle",
            "3",
            "--open-warmup",
            "0",
            "--open-connections",
            "9",
            "--out",
            "/tmp/x",
            "--label",
            "a \"b\"",
            "--sections",
            "journal,http",
            "--targets",
            "ceiling,rendezvous",
            "--rate",
            "123.5",
            "--set",
            "a.b=1",
            "--set",
            "c=d=e",
            "--keep-journal");
    assertEquals(
        new HarnessOptions(
            7,
            2,
            List.of(2, 8),
            0,
            1,
            4,
            0,
            6,
            3,
            0,
            Path.of("/tmp/x"),
            "a \"b\"",
            List.of("a.b=1", "c=d=e"),
            9,
            List.of("journal", "http"),
            List.of("ceiling", "rendezvous"),
            123.5,
            true),
        o);
  }

  @Test
  void badHarnessOptionsAreRefusedWithAClearMessage() {
    assertRefused("--repeats", "--repeats", "0");
    assertRefused("--clients", "--clients", "4,0");
    assertRefused("--warmup", "--warmup", "-1");
    assertRefused("ceiling", "--targets", "nope");
    assertRefused("compute", "--sections", "http,gpu");
    assertRefused("key=value", "--set", "novalue");
    assertRefused("--rate", "--rate", "0");
    assertRefused("--seconds", "--seconds");
    assertRefused("--nope", "--nope", "1");
  }

  private static void assertRefused(String mentioned, String... args) {
    ParameterException e = assertThrows(ParameterException.class, () -> HarnessCommand.parse(args));
    assertTrue(e.getMessage().contains(mentioned), e.getMessage());
  }

  @Test
  void aBadCommandLineExitsTwoWithTheUsage() {
    for (String[] args :
        List.of(
            new String[] {},
            new String[] {"nope"},
            new String[] {"harness", "--repeats", "0"},
            new String[] {"harness", "--nope"},
            new String[] {"harness", "extra"},
            new String[] {"cluster-proof", "--signal", "HUP"},
            new String[] {"cluster-proof", "--seconds", "20", "--kill-at", "20"},
            new String[] {"kafka", "--rate", "-1"})) {
      StringWriter err = new StringWriter();
      int code =
          BenchMain.commandLine()
              .setOut(new PrintWriter(new StringWriter()))
              .setErr(new PrintWriter(err))
              .execute(args);
      assertEquals(2, code, String.join(" ", args) + ": " + err);
      assertTrue(err.toString().contains("Usage: rendezvous-bench"), err.toString());
    }
  }

  @Test
  void everyCommandHasHelpWithItsOptions() {
    Map<String, List<String>> options =
        Map.of(
            "harness",
            List.of(
                "--seconds",
                "--repeats",
                "--clients",
                "--warmup",
                "--compute-seconds",
                "--sla-seconds",
                "--soak-seconds",
                "--soak-window",
                "--soak-settle",
                "--open-warmup",
                "--open-connections",
                "--out",
                "--label",
                "--sections",
                "--targets",
                "--rate",
                "--set"),
            "cluster-proof",
            List.of("--seconds", "--rate", "--kill-at", "--signal", "--warmup"),
            "kafka",
            List.of("--requests", "--rate", "--seconds"),
            "cpu-steadiness",
            List.of("--seconds", "--slice-ms", "--threads"));
    options.forEach(
        (command, names) -> {
          StringWriter out = new StringWriter();
          int code =
              BenchMain.commandLine().setOut(new PrintWriter(out)).execute(command, "--help");
          assertEquals(0, code);
          names.forEach(
              n -> assertTrue(out.toString().contains(n), command + " " + n + "\n" + out));
        });
  }

  @Test
  void cpuSteadinessCountsEverySliceAndPrintsTheirSpread() {
    StringWriter out = new StringWriter();
    int code =
        BenchMain.commandLine()
            .setOut(new PrintWriter(out))
            .execute("cpu-steadiness", "--seconds", "1", "--slice-ms", "100", "--threads", "1");
    assertEquals(0, code, out.toString());
    assertTrue(
        out.toString().contains("1 threads spinning for 1 s, in slices of 100 ms (10 slices)"),
        out.toString());
    assertTrue(out.toString().contains("p50 100%"), out.toString());
    assertTrue(out.toString().contains("whole seconds against the median second"), out.toString());
  }

  @Test
  void clusterProofAndKafkaKeepTheirDefaults() {
    ClusterProof proof = new ClusterProof();
    new CommandLine(proof).parseArgs("--signal", "term");
    assertEquals(
        List.of(60, 100, 25, 10), List.of(proof.seconds, proof.rate, proof.killAt, proof.warmup));
    assertEquals(ClusterProof.Signal.TERM, proof.signal);
    KafkaBench kafka = new KafkaBench();
    new CommandLine(kafka).parseArgs();
    assertEquals(List.of(10_000, 0, 10), List.of(kafka.requests, kafka.rate, kafka.seconds));
  }

  @Test
  void stagesAreReadFromAPredictBody() {
    byte[] body =
        "{\"predictions\":[{\"request_id\":\"x\",\"status\":200,\"model\":\"m2\",\"stage\":1}]}"
            .getBytes(StandardCharsets.UTF_8);
    assertEquals("stage 1 (m2)", HttpLoad.stageOf(body));
    assertEquals(null, HttpLoad.stageOf("{\"outputs\":[]}".getBytes(StandardCharsets.UTF_8)));
  }

  @Test
  void theKafkaBenchCountsAnAnswerByItsStatus() {
    assertEquals(200, KafkaBench.statusOf("{\"key\":\"b1\",\"status\":200,\"predictions\":[]}"));
    assertEquals(503, KafkaBench.statusOf("{\"key\":\"b2\",\"status\":503,\"predictions\":[]}"));
    assertEquals(-1, KafkaBench.statusOf("not json"));
    assertEquals(-1, KafkaBench.statusOf("{\"key\":\"b3\"}"));
  }
}

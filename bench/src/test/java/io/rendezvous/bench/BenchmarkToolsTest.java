package io.rendezvous.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.rendezvous.actors.edge.Json;
import io.rendezvous.node.TestNode;
import io.rendezvous.workers.data.FashionMnist;
import io.rendezvous.workers.data.HoldoutBodies;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The harness's parts: the ceiling route (off unless asked for), the load generator's counting,
 * options.
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
  void optionsAreCheckedWithAClearMessage() {
    assertEquals(List.of(2, 8), Harness.parse(new String[] {"--clients", "2,8"}).clients());
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> Harness.parse(new String[] {"--repeats", "0"}));
    assertTrue(e.getMessage().contains("--repeats"), e.getMessage());
    e =
        assertThrows(
            IllegalArgumentException.class,
            () -> Harness.parse(new String[] {"--targets", "nope"}));
    assertTrue(e.getMessage().contains("ceiling"), e.getMessage());
    e =
        assertThrows(
            IllegalArgumentException.class, () -> Harness.parse(new String[] {"--set", "novalue"}));
    assertTrue(e.getMessage().contains("key=value"), e.getMessage());
  }

  @Test
  void stagesAreReadFromAPredictBody() {
    byte[] body =
        "{\"predictions\":[{\"request_id\":\"x\",\"status\":200,\"model\":\"m2\",\"stage\":1}]}"
            .getBytes(StandardCharsets.UTF_8);
    assertEquals("stage 1 (m2)", HttpLoad.stageOf(body));
    assertEquals(null, HttpLoad.stageOf("{\"outputs\":[]}".getBytes(StandardCharsets.UTF_8)));
  }
}

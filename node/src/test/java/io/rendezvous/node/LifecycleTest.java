package io.rendezvous.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.rendezvous.actors.edge.Json;
import io.rendezvous.journal.JournalReader;
import io.rendezvous.journal.JournalRecord;
import io.rendezvous.workers.data.FashionMnist;
import io.rendezvous.workers.data.HoldoutBodies;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Graceful shutdown drains in-flight requests into the journal; an unwritable journal means 503s.
 */
class LifecycleTest {
  static final ActorTestKit kit = ActorTestKit.create();
  @TempDir Path dir;

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  @Test
  void gracefulStopFinishesInFlightRequestsAndFlushesTheJournal() throws Exception {
    TestNode node =
        TestNode.start(
            dir,
            String.join(
                "\n",
                "rendezvous.endpoints.rendezvous.sla = 5s",
                "rendezvous.models.m1.fault { latency = 700ms, latency-probability = 1.0 }",
                "rendezvous.models.m2.fault { latency = 700ms, latency-probability = 1.0 }",
                "rendezvous.models.m3.fault { latency = 700ms, latency-probability = 1.0 }"));
    byte[] body =
        HoldoutBodies.json(FashionMnist.load().holdout().get(0)).getBytes(StandardCharsets.UTF_8);
    ExecutorService clients = Executors.newFixedThreadPool(5);
    List<Future<HttpResponse<String>>> replies = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      replies.add(clients.submit(() -> node.post("/predict", "application/json", body)));
    }
    // all five are inside entities (inputs journaled) before the stop begins
    TestProbe<Object> wait = kit.createTestProbe();
    wait.awaitAssert(
        Duration.ofSeconds(10),
        () -> {
          assertEquals(5, node.requestRecords().size());
          return null;
        });
    Path journal = node.journalDir();
    node.node.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);

    Set<String> answered = new java.util.HashSet<>();
    for (Future<HttpResponse<String>> f : replies) {
      HttpResponse<String> r = f.get();
      assertEquals(200, r.statusCode(), r.body());
      JsonNode p = Json.MAPPER.readTree(r.body()).get("predictions").get(0);
      answered.add(p.get("request_id").asText());
    }
    clients.shutdown();
    List<JournalRecord> records = TestNode.requestRecords(JournalReader.readAll(journal));
    Set<String> answers =
        records.stream()
            .filter(r -> r instanceof JournalRecord.Answer)
            .map(JournalRecord::requestId)
            .collect(Collectors.toSet());
    assertEquals(answered, answers);
    assertEquals(25, records.size());
    assertThrows(IOException.class, () -> node.post("/predict", "application/json", body));
  }

  @Test
  void anUnwritableJournalMeansNotReadyAnd503sWithAReason() throws Exception {
    try (TestNode node =
        TestNode.start(dir, "rendezvous.journal.min-free-space = 9223372036854775807")) {
      HttpResponse<String> ready = node.get("/v2/health/ready");
      assertEquals(503, ready.statusCode());
      assertTrue(ready.body().contains("min-free-space"), ready.body());
      HttpResponse<String> r =
          node.post(
              "/predict",
              "application/json",
              HoldoutBodies.json(FashionMnist.load().holdout().get(0))
                  .getBytes(StandardCharsets.UTF_8));
      assertEquals(503, r.statusCode(), r.body());
      assertTrue(
          Json.MAPPER.readTree(r.body()).get("error").asText().contains("journal unavailable"),
          r.body());
      assertEquals(200, node.get("/v2/health/live").statusCode());
    }
  }
}

package io.rendezvous.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rendezvous.actors.EndpointSettings;
import io.rendezvous.actors.edge.Json;
import io.rendezvous.journal.JournalRecord;
import io.rendezvous.workers.data.FashionMnist;
import io.rendezvous.workers.data.HoldoutBodies;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Under load, with fault injection making m3 (and sometimes m2) late and m1 fail now and then,
 * every answer the node gave must be the one the schedule's rules pick from the score arrival times
 * the journal recorded. A consistency check on real traffic, not a timing assertion.
 */
class ScheduleConsistencyTest {
  static final ActorTestKit kit = ActorTestKit.create();
  @TempDir Path dir;

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  @Test
  void everyAnswerFollowsTheRulesAppliedToTheJournaledArrivalTimes() throws Exception {
    int requests = 400;
    try (TestNode node =
        TestNode.start(
            dir,
            String.join(
                "\n",
                "rendezvous.models.m3.fault { latency = 20ms, latency-probability = 0.3 }",
                "rendezvous.models.m2.fault { latency = 40ms, latency-probability = 0.2 }",
                "rendezvous.models.m1.fault { failure-rate = 0.05 }"))) {
      List<FashionMnist.Sample> holdout = FashionMnist.load().holdout();
      ExecutorService clients = Executors.newFixedThreadPool(8);
      List<Future<HttpResponse<String>>> responses = new ArrayList<>();
      for (int i = 0; i < requests; i++) {
        byte[] body = HoldoutBodies.json(holdout.get(i)).getBytes(StandardCharsets.UTF_8);
        responses.add(clients.submit(() -> node.post("/predict", "application/json", body)));
      }
      Map<Integer, Integer> byStatus = new HashMap<>();
      Map<String, Integer> httpStatusById = new HashMap<>();
      for (Future<HttpResponse<String>> f : responses) {
        HttpResponse<String> r = f.get();
        byStatus.merge(r.statusCode(), 1, Integer::sum);
        httpStatusById.put(
            Json.MAPPER.readTree(r.body()).get("predictions").get(0).get("request_id").asText(),
            r.statusCode());
      }
      clients.shutdown();
      assertTrue(
          byStatus.keySet().stream().allMatch(s -> s == 200 || s == 503 || s == 504),
          byStatus.toString());

      TestProbe<Object> wait = kit.createTestProbe();
      List<JournalRecord> records = new ArrayList<>();
      wait.awaitAssert(
          Duration.ofSeconds(15),
          Duration.ofMillis(200),
          () -> {
            records.clear();
            records.addAll(node.requestRecords());
            // input, three scores and at least one answer per request (a second answer record
            // appears only when the journal confirmed an answer after the SLA and the client got a
            // 503 instead)
            assertEquals(
                requests * 4L,
                records.stream().filter(r -> !(r instanceof JournalRecord.Answer)).count());
            assertEquals(
                requests,
                records.stream()
                    .filter(r -> r instanceof JournalRecord.Answer)
                    .map(JournalRecord::requestId)
                    .distinct()
                    .count());
            return null;
          });
      EndpointSettings ep = node.node.endpoints().get("rendezvous");
      Map<String, List<JournalRecord>> byRequest =
          records.stream().collect(Collectors.groupingBy(JournalRecord::requestId));
      Map<String, Integer> chosen = new HashMap<>();
      for (List<JournalRecord> story : byRequest.values()) {
        List<JournalRecord.Answer> answers =
            story.stream()
                .filter(r -> r instanceof JournalRecord.Answer)
                .map(r -> (JournalRecord.Answer) r)
                .toList();
        JournalRecord.Answer answer = answers.get(0);
        JournalRecord.Answer delivered = answers.get(answers.size() - 1);
        Map<String, JournalRecord.Score> scores =
            story.stream()
                .filter(r -> r instanceof JournalRecord.Score)
                .map(r -> (JournalRecord.Score) r)
                .collect(Collectors.toMap(JournalRecord.Score::model, s -> s));
        assertEquals(
            httpStatusById.get(answer.requestId()), delivered.status(), "client and journal agree");
        Expected e = rules(ep, scores, answer.decidedMicros());
        assertEquals(e.status(), answer.status(), "request " + answer.requestId() + ": " + story);
        if (e.status() == 200) {
          assertEquals(e.model(), answer.model(), "request " + answer.requestId() + ": " + story);
          assertEquals(ep.stageOf(e.model()), answer.stage());
        }
        chosen.merge(
            answer.status() == 200 ? answer.model() : "status " + answer.status(), 1, Integer::sum);
      }
      System.out.println("answers by chosen model under fault injection: " + chosen);
    }
  }

  record Expected(int status, String model) {}

  /**
   * The schedule's rules at time {@code d}: the highest-priority model that has answered (score in
   * before the decision) and whose stage is open (offset passed, or every stage above it failed).
   */
  static Expected rules(EndpointSettings ep, Map<String, JournalRecord.Score> scores, long d) {
    boolean allAboveFailed = true;
    for (EndpointSettings.Stage stage : ep.schedule()) {
      JournalRecord.Score s = scores.get(stage.model());
      boolean answered = s.outcome() == JournalRecord.Outcome.OK && s.arrivalMicros() <= d;
      boolean open =
          stage.after().toNanos() / 1000 <= d || (stage != ep.schedule().get(0) && allAboveFailed);
      if (answered && open) {
        return new Expected(200, stage.model());
      }
      boolean failed =
          (s.outcome() == JournalRecord.Outcome.FAILED
                  || s.outcome() == JournalRecord.Outcome.OVERLOADED)
              && s.arrivalMicros() <= d;
      allAboveFailed &= failed;
    }
    return new Expected(allAboveFailed ? 503 : 504, null);
  }

  @Test
  void requestsBeyondTheInFlightCapWaitTheirTurnAndOnlyAFullQueueRefuses() throws Exception {
    Map<Integer, List<HttpResponse<String>>> got =
        sixAtOnce("rendezvous.http { max-in-flight = 2, max-queued = 2, max-queue-wait = 30s }");
    // two run, two wait and are answered after them (their SLA counts from admission), two are
    // refused at once
    assertEquals(4, got.getOrDefault(200, List.of()).size(), got.toString());
    List<HttpResponse<String>> refused = got.getOrDefault(503, List.of());
    assertEquals(2, refused.size(), got.toString());
    for (HttpResponse<String> r : refused) {
      assertTrue(r.body().contains("limit of 2 requests in flight and 2 waiting"), r.body());
      assertEquals("1", r.headers().firstValue("Retry-After").orElse(null));
    }
  }

  @Test
  void aRequestThatWaitedLongerThanMaxQueueWaitIsRefused() throws Exception {
    Map<Integer, List<HttpResponse<String>>> got =
        sixAtOnce("rendezvous.http { max-in-flight = 2, max-queue-wait = 1s }");
    // the four behind the first two wait 3 s for a slot, longer than they may
    assertEquals(2, got.getOrDefault(200, List.of()).size(), got.toString());
    List<HttpResponse<String>> refused = got.getOrDefault(503, List.of());
    assertEquals(4, refused.size(), got.toString());
    refused.forEach(r -> assertTrue(r.body().contains("max-queue-wait 1000 ms"), r.body()));
  }

  /** Six requests at once to a node whose answers take 3 s, by status. */
  private Map<Integer, List<HttpResponse<String>>> sixAtOnce(String http) throws Exception {
    try (TestNode node =
        TestNode.start(
            dir,
            String.join(
                "\n",
                http,
                // answers take 3 s, far longer than it takes the six clients to send: two are in
                // flight when the others arrive
                "rendezvous.endpoints.rendezvous.sla = 5s",
                "rendezvous.models.m1.fault { latency = 3s, latency-probability = 1.0 }",
                "rendezvous.models.m2.fault { latency = 3s, latency-probability = 1.0 }",
                "rendezvous.models.m3.fault { latency = 3s, latency-probability = 1.0 }"))) {
      byte[] body =
          HoldoutBodies.json(FashionMnist.load().holdout().get(0)).getBytes(StandardCharsets.UTF_8);
      ExecutorService clients = Executors.newFixedThreadPool(6);
      List<Future<HttpResponse<String>>> replies = new ArrayList<>();
      for (int i = 0; i < 6; i++) {
        replies.add(clients.submit(() -> node.post("/predict", "application/json", body)));
      }
      Map<Integer, List<HttpResponse<String>>> byStatus = new java.util.TreeMap<>();
      for (Future<HttpResponse<String>> f : replies) {
        HttpResponse<String> r = f.get();
        byStatus.computeIfAbsent(r.statusCode(), k -> new ArrayList<>()).add(r);
      }
      clients.shutdown();
      return byStatus;
    }
  }
}

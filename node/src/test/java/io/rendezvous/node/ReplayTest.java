package io.rendezvous.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import io.rendezvous.actors.edge.Json;
import io.rendezvous.journal.JournalRecord;
import io.rendezvous.node.freshness.ReplayCommand;
import io.rendezvous.workers.data.FashionMnist;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code rendezvous replay} on a real node's journal: the versions that served the requests,
 * replayed from the store, give the same labels as their journaled scores and reproduce every
 * answer they gave; their accuracy on the corrections is what the journaled scores say it was.
 */
class ReplayTest {
  @TempDir Path dir;

  @Test
  void replayGivesTheJournaledAnswersOfTheSameVersions() throws Exception {
    List<FashionMnist.Sample> samples = FashionMnist.load().holdout().subList(100, 140);
    Path journal;
    List<String> ids = new ArrayList<>();
    try (TestNode node = TestNode.start(dir.resolve("node"), "")) {
      for (FashionMnist.Sample s : samples) {
        HttpResponse<String> r =
            node.post(
                "/predict",
                "application/json",
                ("{\"instances\":[" + ModelLifecycleTest.instances(s) + "]}")
                    .getBytes(StandardCharsets.UTF_8));
        assertEquals(200, r.statusCode(), r.body());
        ids.add(
            Json.MAPPER.readTree(r.body()).get("predictions").get(0).get("request_id").asText());
      }
      // six corrections, with the true labels
      for (int i = 0; i < 6; i++) {
        HttpResponse<String> f =
            FeedbackTest.feedback(
                node,
                "/feedback",
                null,
                "{\"request_id\":\"" + ids.get(i) + "\",\"label\":" + samples.get(i).label() + "}");
        assertEquals(200, f.statusCode(), f.body());
      }
      journal = node.journalDir();
    }
    List<JournalRecord> records = io.rendezvous.journal.JournalReader.readAll(journal);
    // the versions that scored, and what the journal says each got right on the corrections
    Map<String, Integer> rightOnFeedback = new TreeMap<>();
    // by id: a request whose entity was slow to accept it is also served by the edge on its own,
    // and both stories are journaled (RequestRouter)
    java.util.Set<String> answered = new java.util.HashSet<>();
    for (JournalRecord r : records) {
      if (r instanceof JournalRecord.Score s && s.probabilities() != null) {
        rightOnFeedback.putIfAbsent(s.model() + "@" + s.version(), 0);
      } else if (r instanceof JournalRecord.Answer a
          && a.status() == 200
          && ids.contains(a.requestId())) {
        answered.add(a.requestId());
      }
    }
    for (JournalRecord r : records) {
      if (r instanceof JournalRecord.Feedback f) {
        for (JournalRecord.Score s : f.scores()) {
          if (s.probabilities() != null
              && io.rendezvous.node.freshness.VersionScorer.top(s.probabilities())
                  == f.labelIndex()) {
            rightOnFeedback.merge(s.model() + "@" + s.version(), 1, Integer::sum);
          }
        }
      }
    }
    assertEquals(3, rightOnFeedback.size(), rightOnFeedback.toString());
    assertEquals(samples.size(), answered.size());

    List<String> args = new ArrayList<>();
    for (String v : rightOnFeedback.keySet()) {
      args.addAll(List.of("--model", v));
    }
    Path report = dir.resolve("report.json");
    Path csv = dir.resolve("report.csv");
    args.addAll(
        List.of(
            "--store",
            ConfigFactory.load().getString("rendezvous.model-store.dir"),
            "--json",
            report.toString(),
            "--csv",
            csv.toString(),
            journal.toString()));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int rc =
        ReplayCommand.run(args.toArray(String[]::new), new PrintStream(out), new PrintStream(err));
    assertEquals(0, rc, out + "\n" + err);
    String printed = out.toString(StandardCharsets.UTF_8);
    assertTrue(printed.contains("replayed"), printed);
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("100.0%"), "a progress line: " + err);

    JsonNode json = Json.MAPPER.readTree(Files.readString(report));
    assertEquals(6, json.get("feedback").asLong(), json.toString());
    long ownAnswers = 0;
    for (JsonNode v : json.get("versions")) {
      String version = v.get("version").asText();
      // every input the node scored (its own warm-up's too), each with its journaled score
      assertTrue(v.get("inputs").asLong() >= samples.size(), v.toString());
      assertEquals(v.get("inputs").asLong(), v.get("own_scores_compared").asLong(), v.toString());
      assertEquals(
          v.get("own_scores_compared").asLong(), v.get("own_scores_same_label").asLong(), version);
      assertTrue(v.get("max_probability_difference").asDouble() < 1e-4, v.toString());
      assertEquals(
          v.get("own_answers").asLong(), v.get("own_answers_reproduced").asLong(), version);
      ownAnswers += v.get("own_answers").asLong();
      assertEquals(6, v.get("feedback").asLong(), version);
      assertEquals(
          (long) rightOnFeedback.get(version), v.get("feedback_correct").asLong(), version);
      double mix = 0;
      for (JsonNode share : v.get("label_mix")) {
        mix += share.asDouble();
      }
      assertEquals(1.0, mix, 1e-9, version);
    }
    assertTrue(ownAnswers >= samples.size(), "every answer given by one of them: " + json);
    List<String> lines = Files.readAllLines(csv);
    assertEquals(4, lines.size(), String.join("\n", lines));
    assertTrue(lines.get(0).startsWith("version,inputs,feedback"), lines.get(0));
  }

  @Test
  void aMissingJournalOrVersionIsAClearError() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int rc =
        ReplayCommand.run(
            new String[] {"--model", "m1", dir.resolve("nope").toString()},
            new PrintStream(out),
            new PrintStream(err));
    assertEquals(2, rc);
    assertTrue(
        err.toString(StandardCharsets.UTF_8).contains("no journal directory"), err.toString());
  }
}

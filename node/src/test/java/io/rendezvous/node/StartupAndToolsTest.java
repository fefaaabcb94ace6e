package io.rendezvous.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.rendezvous.actors.edge.Json;
import io.rendezvous.journal.JournalRecord;
import io.rendezvous.journal.JournalSettings;
import io.rendezvous.journal.JournalWriter;
import io.rendezvous.model.TensorData;
import io.rendezvous.workers.ModelLoadException;
import io.rendezvous.workers.data.FashionMnist;
import io.rendezvous.workers.data.HoldoutBodies;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Start-up refuses broken configuration with a clear message; the journal dump tool tells a
 * request's story.
 */
class StartupAndToolsTest {
  static final ActorTestKit kit = ActorTestKit.create();
  @TempDir Path dir;

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  @Test
  void aMissingModelDirectoryStopsTheStartNamingModelAndPath() {
    ModelLoadException e =
        assertThrows(
            ModelLoadException.class,
            () ->
                TestNode.start(
                    dir, "rendezvous.models.m2.store = \"" + dir.resolve("nowhere") + "\""));
    assertTrue(e.getMessage().contains("'m2'"), e.getMessage());
    assertTrue(e.getMessage().contains(dir.resolve("nowhere").toString()), e.getMessage());
  }

  @Test
  void aMissingModelVersionStopsTheStartNamingIt() {
    ModelLoadException e =
        assertThrows(
            ModelLoadException.class,
            () -> TestNode.start(dir, "rendezvous.models.m2.version = 99"));
    assertTrue(e.getMessage().contains("no version 99 of model 'm2'"), e.getMessage());
  }

  @Test
  void anEndpointNamingAnUnknownModelStopsTheStart() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> TestNode.start(dir, "rendezvous.endpoints.rendezvous.models = [m1, m2, m3, m9]"));
    assertTrue(e.getMessage().contains("m9"), e.getMessage());
  }

  @Test
  void journalDumpPrintsJsonLinesForAllOrOneRequest() throws Exception {
    String id;
    Path journal;
    int endpoints;
    try (TestNode node = TestNode.start(dir, "")) {
      endpoints = node.node.endpoints().size();
      HttpResponse<String> r =
          node.post(
              "/predict",
              "application/json",
              HoldoutBodies.json(FashionMnist.load().holdout().get(0))
                  .getBytes(StandardCharsets.UTF_8));
      assertEquals(200, r.statusCode(), r.body());
      node.post(
          "/predict",
          "application/json",
          HoldoutBodies.json(FashionMnist.load().holdout().get(1))
              .getBytes(StandardCharsets.UTF_8));
      id = Json.MAPPER.readTree(r.body()).get("predictions").get(0).get("request_id").asText();
      journal = node.journalDir();
      TestProbe<Object> wait = kit.createTestProbe();
      wait.awaitAssert(
          Duration.ofSeconds(10),
          () -> {
            assertEquals(10, node.requestRecords().size());
            return null;
          });
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    assertEquals(
        0,
        JournalDump.run(
            new String[] {"--id", id, journal.toString()}, new PrintStream(out, true), System.err));
    String[] lines = out.toString(StandardCharsets.UTF_8).trim().split("\n");
    assertEquals(5, lines.length);
    for (String line : lines) {
      JsonNode n = Json.MAPPER.readTree(line);
      assertEquals(id, n.get("id").asText());
    }
    assertEquals("input", Json.MAPPER.readTree(lines[0]).get("type").asText());
    out.reset();
    assertEquals(
        0,
        JournalDump.run(new String[] {journal.toString()}, new PrintStream(out, true), System.err));
    String[] all = out.toString(StandardCharsets.UTF_8).trim().split("\n");
    long lifecycle =
        java.util.Arrays.stream(all).filter(l -> l.contains("\"type\":\"lifecycle\"")).count();
    // two requests' records, and what each endpoint was in the table the node started with
    assertEquals(10, all.length - lifecycle);
    assertEquals(endpoints, lifecycle);
    assertEquals(
        1,
        JournalDump.run(
            new String[] {dir.resolve("missing").toString()},
            new PrintStream(out, true),
            new PrintStream(new ByteArrayOutputStream())));
  }

  @Test
  void journalDumpMergesSeveralNodesJournalsByTime() throws Exception {
    // two nodes' journals whose records interleave in time
    Path a = dir.resolve("a");
    Path b = dir.resolve("b");
    for (Path j : new Path[] {a, b}) {
      long first = j == a ? 1 : 2;
      try (JournalWriter w =
          JournalWriter.start(
              JournalSettings.fromConfig(com.typesafe.config.ConfigFactory.load()).withDir(j))) {
        for (long t = first; t <= 6; t += 2) {
          w.offer(
              new JournalRecord.Input(
                  "r" + t,
                  null,
                  j.getFileName().toString(),
                  "rendezvous",
                  t,
                  "oip-v2",
                  null,
                  TensorData.float32(new long[] {1, 1}, new float[] {t}),
                  null),
              null);
        }
      }
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    assertEquals(
        0,
        JournalDump.run(
            new String[] {a.toString(), b.toString()}, new PrintStream(out, true), System.err));
    String[] lines = out.toString(StandardCharsets.UTF_8).trim().split("\n");
    assertEquals(6, lines.length);
    for (int i = 0; i < lines.length; i++) {
      JsonNode n = Json.MAPPER.readTree(lines[i]);
      assertEquals(i + 1, n.get("at_micros").asLong(), lines[i]);
      assertEquals(i % 2 == 0 ? "a" : "b", n.get("node").asText());
    }
  }
}

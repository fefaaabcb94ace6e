package io.rendezvous.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.rendezvous.actors.edge.Json;
import io.rendezvous.journal.JournalRecord;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Corrections across a cluster of two real nodes: a correction sent to one node of a request the
 * other served is joined, on the node whose journal holds it, to that request's input and every
 * model's score; the same correction sent to the other node is the same one record.
 */
@Tag("integration")
class FeedbackClusterIT {
  @TempDir static Path dir;
  static TestNode a;
  static TestNode b;

  @AfterAll
  static void stop() throws Exception {
    for (TestNode n : new TestNode[] {b, a}) {
      if (n != null) {
        n.close();
      }
    }
  }

  static TestNode start(int i, int seedPort, int ownPort) throws Exception {
    return TestNode.start(
        dir.resolve("node-" + i),
        String.join(
            "\n",
            "rendezvous.node-name = \"node-" + i + "\"",
            "pekko.remote.artery.canonical.port = " + ownPort,
            "rendezvous.seed-nodes = \"127.0.0.1:" + seedPort + "\"",
            "pekko.cluster.seed-node-timeout = 2s",
            "pekko.cluster.retry-unsuccessful-join-after = 1s",
            "rendezvous.auth.feedback = \"fb\"",
            // a fresh two-node cluster on a busy machine: the test is about the join, not the SLA
            "rendezvous.endpoints.rendezvous.sla = 2s"));
  }

  static HttpResponse<String> correct(TestNode n, String id, String label) throws Exception {
    return FeedbackTest.feedback(
        n, "/feedback", "fb", "{\"request_id\":\"" + id + "\",\"label\":\"" + label + "\"}");
  }

  @Test
  void aCorrectionSentToAnyNodeJoinsTheStoryWhereItIsJournaled() throws Exception {
    int portA = TcpProxy.freePort();
    a = start(1, portA, portA);
    b = start(2, portA, TcpProxy.freePort());
    ClusterLifecycleIT.await(
        "two members up",
        Duration.ofSeconds(60),
        () -> ClusterLifecycleIT.upMembers(a) == 2 && ClusterLifecycleIT.upMembers(b) == 2);

    int joinedElsewhere = 0;
    // while the cluster is new a request may be journaled on the node the correction is then sent
    // to (its shard was the other node's): more pairs until one correction has crossed nodes
    List<TestNode[]> pairs = new java.util.ArrayList<>();
    for (int round = 0; round < CROSSING_ROUNDS; round++) {
      pairs.add(new TestNode[] {b, a});
      pairs.add(new TestNode[] {a, b});
    }
    for (TestNode[] servedAndCorrected : pairs) {
      if (joinedElsewhere > 0 && pairs.indexOf(servedAndCorrected) >= 2) {
        break;
      }
      TestNode served = servedAndCorrected[0];
      TestNode corrected = servedAndCorrected[1];
      String id = FeedbackTest.predict(served, 3);
      HttpResponse<String> r = null;
      // the other node learns of the keepers through the Receptionist within a moment of joining
      for (long until = System.nanoTime() + Duration.ofSeconds(20).toNanos();
          System.nanoTime() < until; ) {
        r = correct(corrected, id, "Dress");
        if (r.statusCode() != 503) {
          break;
        }
        Thread.sleep(200);
      }
      assertEquals(200, r.statusCode(), r.body());
      JsonNode taken = Json.MAPPER.readTree(r.body());
      // the node whose journal holds the story (where the request was served: its own shard, or
      // the other node's while the cluster is new; both, when a fallback served it too)
      String joinedOn = taken.get("joined_on").asText();
      TestNode holder = a.node.name().equals(joinedOn) ? a : b;
      assertTrue(
          holder.requestRecords().stream()
              .anyMatch(x -> x instanceof JournalRecord.Input && x.requestId().equals(id)),
          "served by "
              + served.node.name()
              + ", corrected on "
              + corrected.node.name()
              + ": "
              + r.body());
      assertEquals(3, taken.get("scores").asInt());
      if (holder != corrected) {
        joinedElsewhere++;
      }

      List<JournalRecord.Feedback> records = FeedbackTest.feedbackRecords(holder);
      JournalRecord.Feedback f =
          records.stream().filter(x -> x.requestId().equals(id)).findFirst().orElseThrow();
      JournalRecord.Input input =
          holder.journal().stream()
              .filter(x -> x instanceof JournalRecord.Input && x.requestId().equals(id))
              .map(x -> (JournalRecord.Input) x)
              .findFirst()
              .orElseThrow();
      assertEquals(input, f.input(), "the input as the models saw it, from the other node");
      assertEquals(
          List.of("m1", "m2", "m3"),
          f.scores().stream().map(JournalRecord.Score::model).sorted().toList());
      assertEquals(corrected.node.name(), f.receivedBy());
      assertEquals("Dress", f.label());

      // the same correction, sent to the node that served it this time: the same record
      HttpResponse<String> again = correct(served, id, "Dress");
      assertEquals(200, again.statusCode(), again.body());
      assertTrue(Json.MAPPER.readTree(again.body()).get("duplicate").asBoolean(), again.body());
      assertEquals(
          1,
          FeedbackTest.feedbackRecords(a).stream().filter(x -> x.requestId().equals(id)).count()
              + FeedbackTest.feedbackRecords(b).stream()
                  .filter(x -> x.requestId().equals(id))
                  .count());
    }
    assertTrue(joinedElsewhere > 0, "a correction joined on the other node than the one called");
  }

  /** Rounds of both pairs tried at most for a correction that crosses nodes. */
  private static final int CROSSING_ROUNDS = 5;
}

package io.rendezvous.grpc.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.common.util.concurrent.ListenableFuture;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.rendezvous.actors.edge.Json;
import io.rendezvous.grpc.v2.GRPCInferenceServiceGrpc;
import io.rendezvous.grpc.v2.GrpcPredictV2.ModelInferResponse;
import io.rendezvous.node.TestNode;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * gRPC under the node's limits: a call the node has no room for is refused RESOURCE_EXHAUSTED with
 * why (the same admission as REST), and a client deadline shorter than the SLA decides the request:
 * the best answer in by then comes back, where the schedule alone would still wait.
 *
 * <p>The node lets one request in at a time and queues none; its rendezvous waits 3 s for m2 when
 * m3 (first in the schedule) has not answered, and m3 is made to hang (fault injection).
 */
class GrpcLimitsTest {
  @TempDir static Path dir;
  static TestNode node;
  static ManagedChannel channel;
  static final HttpClient http = HttpClient.newHttpClient();
  static final String ADMIN = "limits-admin-2b7d";

  @BeforeAll
  static void start() throws Exception {
    node =
        TestNode.start(
            dir,
            String.join(
                "\n",
                "rendezvous.admin.fault-injection = on",
                "rendezvous.auth.admin = \"" + ADMIN + "\"",
                // a hung m3 stays hung (no replacement) for as long as it is held
                "rendezvous.models.m3.watchdog.hang-after = 60s",
                "rendezvous.http { min-in-flight = 1, initial-in-flight = 1, max-in-flight = 1,"
                    + " max-queued = 0 }",
                "rendezvous.endpoints.rendezvous.sla = 5s",
                // room for the answer's way back on a busy 2-core machine: with the default 20 ms
                // a fresh clone's CI once had the client give up first (this test asserts who
                // decides, not how close to the deadline the answer comes)
                "rendezvous.grpc.deadline-allowance = 300ms",
                "rendezvous.endpoints.rendezvous.schedule = [{model = m3, after = 0ms},"
                    + " {model = m2, after = 3000ms}, {model = m1, after = 3500ms}]"));
    channel =
        NettyChannelBuilder.forAddress("127.0.0.1", node.node.grpcPort()).usePlaintext().build();
  }

  @AfterAll
  static void stop() throws Exception {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    node.close();
  }

  static void hangM3(long millis) throws Exception {
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(node.uri("/admin/models/m3/faults"))
                .header("Content-Type", "application/json")
                .header("Authorization", "Bearer " + ADMIN)
                .POST(
                    HttpRequest.BodyPublishers.ofString(
                        "{\"hang_calls\": 1, \"hang_for_ms\": " + millis + "}"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode(), r.body());
  }

  static long figure(String name) throws Exception {
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(node.uri("/v2/health/ready")).build(),
            HttpResponse.BodyHandlers.ofString());
    JsonNode f = Json.MAPPER.readTree(r.body()).path("figures").path(name);
    return f.isMissingNode() ? -1 : f.asLong();
  }

  @Test
  void aCallBeyondTheNodesRoomIsResourceExhausted() throws Exception {
    hangM3(4_000);
    // holds the node's one slot: m3 hangs, m2's stage opens at 3 s
    ListenableFuture<ModelInferResponse> holder =
        GRPCInferenceServiceGrpc.newFutureStub(channel)
            .withDeadlineAfter(30, TimeUnit.SECONDS)
            .modelInfer(GrpcServiceTest.raw("rendezvous", GrpcServiceTest.SAMPLES.subList(0, 1)));
    long until = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    while (figure("edge_in_flight") < 1 && System.nanoTime() < until) {
      Thread.sleep(20);
    }
    assertEquals(1, figure("edge_in_flight"), "the first call holds the node's slot");
    StatusRuntimeException refused =
        org.junit.jupiter.api.Assertions.assertThrows(
            StatusRuntimeException.class,
            () ->
                GRPCInferenceServiceGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(30, TimeUnit.SECONDS)
                    .modelInfer(GrpcServiceTest.raw("m1", GrpcServiceTest.SAMPLES.subList(0, 1))));
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, refused.getStatus().getCode());
    assertTrue(
        refused.getStatus().getDescription().contains("limit"), refused.getStatus().toString());
    // the one let in is answered all the same
    ModelInferResponse held = holder.get(30, TimeUnit.SECONDS);
    assertEquals("rendezvous", held.getModelName());
  }

  @Test
  void aShorterClientDeadlineDecidesTheRequest() throws Exception {
    hangM3(4_000);
    // m3 hangs and m2's stage opens only at 3 s: within a 1.5 s deadline the schedule's later
    // stages open just before it, and the answer is theirs
    ModelInferResponse answer;
    try {
      answer =
          GRPCInferenceServiceGrpc.newBlockingStub(channel)
              .withDeadlineAfter(1_500, TimeUnit.MILLISECONDS)
              .modelInfer(GrpcServiceTest.raw("rendezvous", GrpcServiceTest.SAMPLES.subList(0, 1)));
    } catch (StatusRuntimeException e) {
      throw new AssertionError("the call should be answered within its deadline: " + e, e);
    }
    String model = answer.getParametersOrThrow("models").getStringParam();
    assertTrue(model.equals("m2") || model.equals("m1"), answer.toString());
    // the node is free again once m3's hang has passed: the next call gets the slot
    long until = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    while (figure("edge_in_flight") > 0 && System.nanoTime() < until) {
      Thread.sleep(20);
    }
  }
}

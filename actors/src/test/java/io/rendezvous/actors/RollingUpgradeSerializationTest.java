package io.rendezvous.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rendezvous.actors.lifecycle.DesiredState;
import io.rendezvous.actors.schedule.DeadlinePriority;
import io.rendezvous.model.TensorSpec;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializers;
import org.apache.pekko.serialization.jackson.JacksonObjectMapperProvider;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * During a rolling upgrade two releases share the cluster: what one writes the other must read. A
 * newer release adds fields to the replicated desired state; a node of the release before reads it,
 * ignoring what it does not know, and keeps everything it does.
 */
class RollingUpgradeSerializationTest {
  static final ActorTestKit testKit = ActorTestKit.create(com.typesafe.config.ConfigFactory.load());

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  static DesiredState state() {
    EndpointSettings e =
        new EndpointSettings(
            "rendezvous",
            List.of("m1", "m3@1", "m3@2"),
            new TensorSpec("input", "float32", List.of(-1L, 784L)),
            List.of(
                new EndpointSettings.Stage("m3@2", Duration.ZERO),
                new EndpointSettings.Stage("m1", Duration.ofMillis(30))),
            DeadlinePriority.INSTANCE,
            Duration.ofMillis(50),
            Duration.ofMillis(5),
            Duration.ofSeconds(2),
            List.of("a", "b"),
            Duration.ofSeconds(1),
            List.of("m3@1"),
            4);
    return new DesiredState(
        4,
        Map.of(
            "m3@2",
            new DesiredState.VersionSpec(
                "m3",
                "2",
                "ab".repeat(32),
                List.of("http://127.0.0.1:8080"),
                1,
                null,
                null,
                null,
                0.86)),
        List.of("m2@1"),
        Map.of("rendezvous", DesiredState.EndpointSpec.of(e)),
        "node-1",
        "promote m3@2");
  }

  @Test
  void aStateWithFieldsFromANewerReleaseIsReadWithoutThem() throws Exception {
    Serialization serialization = SerializationExtension.get(testKit.system().classicSystem());
    DesiredState original = state();
    byte[] bytes = serialization.serialize(original).get();
    int id = serialization.findSerializerFor(original).identifier();
    String manifest = Serializers.manifestFor(serialization.findSerializerFor(original), original);

    // as a newer release would write it: a field at the top, one in a version, one in an endpoint
    ObjectMapper cbor =
        JacksonObjectMapperProvider.get(testKit.system())
            .getOrCreate("jackson-cbor", Optional.empty());
    ObjectNode newer = (ObjectNode) cbor.readTree(bytes);
    newer.put("rolloutStrategy", "canary-first");
    ((ObjectNode) newer.get("versions").get("m3@2")).put("gpu", true);
    ((ObjectNode) newer.get("endpoints").get("rendezvous")).putObject("budget").put("cents", 3);
    byte[] fromNewer = cbor.writeValueAsBytes(newer);

    DesiredState read = (DesiredState) serialization.deserialize(fromNewer, id, manifest).get();
    assertEquals(original, read);
    assertEquals(
        original.endpointSettings().get("rendezvous"), read.endpointSettings().get("rendezvous"));

    // and a node's standing the same way
    DesiredState.Applied applied = new DesiredState.Applied(4, "http://127.0.0.1:8081", null);
    ObjectNode appliedNewer = (ObjectNode) cbor.readTree(serialization.serialize(applied).get());
    appliedNewer.put("loadedVersions", 5);
    JsonNode unused = appliedNewer;
    assertEquals(
        applied,
        serialization
            .deserialize(
                cbor.writeValueAsBytes(unused),
                serialization.findSerializerFor(applied).identifier(),
                Serializers.manifestFor(serialization.findSerializerFor(applied), applied))
            .get());
  }
}

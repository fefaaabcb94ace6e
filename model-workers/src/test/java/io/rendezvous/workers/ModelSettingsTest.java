package io.rendezvous.workers;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.typesafe.config.ConfigFactory;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class ModelSettingsTest {

  /** The image models' queues (the text models take the same defaults). */
  private static Map<String, Integer> queues(String overrides) {
    return ModelSettings.allFromConfig(ConfigFactory.load(ConfigFactory.parseString(overrides)))
        .stream()
        .filter(m -> m.name().matches("m[123]"))
        .collect(Collectors.toMap(ModelSettings::name, ModelSettings::queueCapacity));
  }

  @Test
  void everyModelTakesTheDefaultsQueue() {
    assertEquals(Map.of("m1", 1024, "m2", 1024, "m3", 1024), queues(""));
    assertEquals(
        Map.of("m1", 500, "m2", 500, "m3", 500),
        queues("rendezvous.model-defaults.queue-capacity = 500"));
  }

  @Test
  void aKeySetOnOneModelWinsForThatModelOnly() {
    assertEquals(
        Map.of("m1", 1024, "m2", 1024, "m3", 128),
        queues("rendezvous.models.m3.queue-capacity = 128"));
  }

  @Test
  void theCheapFallbacksBatchBiggerAndStillTakeEveryOtherDefault() {
    Map<String, Integer> batches =
        ModelSettings.allFromConfig(
                ConfigFactory.load(
                    ConfigFactory.parseString("rendezvous.model-defaults.max-batch-delay = 1ms")))
            .stream()
            .filter(m -> m.name().matches("m[123]"))
            .peek(m -> assertEquals(1, m.maxBatchDelay().toMillis(), m.name()))
            .collect(Collectors.toMap(ModelSettings::name, ModelSettings::maxBatchSize));
    assertEquals(Map.of("m1", 256, "m2", 256, "m3", 16), batches);
  }
}

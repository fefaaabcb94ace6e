package io.rendezvous.workers;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.List;

/** The default models as built by the trainer ({@code rendezvous.model-store.dir}), for tests. */
public final class TestModels {
  private TestModels() {}

  public static ModelSettings settings(String name) {
    Config config = ConfigFactory.load();
    return ModelSettings.fromConfig(name, config.getConfig("rendezvous.models." + name));
  }

  public static LoadedModel load(String name) {
    try {
      return LoadedModel.load(settings(name));
    } catch (ModelLoadException e) {
      throw new IllegalStateException(e);
    }
  }

  public static List<String> names() {
    return List.of("m1", "m2", "m3");
  }
}

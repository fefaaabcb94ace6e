package io.rendezvous.node;

import java.io.IOException;
import java.nio.file.Path;

/** {@link ModelVersionsTest#copy} for tests in other packages. */
public final class ModelVersionsTestAccess {
  private ModelVersionsTestAccess() {}

  public static void copyTextModels(
      io.rendezvous.model.ModelStore built, io.rendezvous.model.ModelStore store)
      throws IOException {
    ModelVersionsTest.copyTextModels(built, store);
  }

  public static void copy(Path from, Path to, String version) throws IOException {
    ModelVersionsTest.copy(from, to, version);
  }
}

package io.rendezvous.node;

import java.io.IOException;
import java.nio.file.Path;

/** {@link ModelVersionsTest#copy} for tests in other packages. */
public final class ModelVersionsTestAccess {
  private ModelVersionsTestAccess() {}

  public static void copy(Path from, Path to, String version) throws IOException {
    ModelVersionsTest.copy(from, to, version);
  }
}

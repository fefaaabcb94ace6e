package io.rendezvous.workers;

import java.nio.file.Path;

/** A model that cannot be served: says which, from where, and why. */
public final class ModelLoadException extends Exception {
  private static final long serialVersionUID = 1L;

  public ModelLoadException(String model, Path path, Throwable cause) {
    super(
        "cannot load model '" + model + "' from " + path.toAbsolutePath() + ": " + describe(cause),
        cause);
  }

  private static String describe(Throwable t) {
    String msg = t.getMessage();
    return t.getClass().getSimpleName() + (msg == null ? "" : " (" + msg + ")");
  }
}

package io.rendezvous.actors.edge;

/**
 * An input refused before it reaches any model, with a message naming what is wrong. Each edge maps
 * the {@link Kind} its own way: HTTP to a 4xx status, stream mode to a dead letter.
 */
public final class InvalidInput extends Exception {
  private static final long serialVersionUID = 1L;

  /** What is wrong, in the terms every edge can map. */
  public enum Kind {
    /** Not a readable input: bad JSON, wrong shape, not a number, not an image. */
    MALFORMED,
    /** Readable, but over a limit (instances in one request, image size). */
    TOO_LARGE,
    /** An input of a kind this endpoint does not take (an image for a non-square input). */
    UNSUPPORTED
  }

  private final Kind kind;

  public InvalidInput(Kind kind, String message) {
    super(message, null, false, false);
    this.kind = kind;
  }

  public static InvalidInput malformed(String message) {
    return new InvalidInput(Kind.MALFORMED, message);
  }

  public static InvalidInput tooLarge(String message) {
    return new InvalidInput(Kind.TOO_LARGE, message);
  }

  public static InvalidInput unsupported(String message) {
    return new InvalidInput(Kind.UNSUPPORTED, message);
  }

  public Kind kind() {
    return kind;
  }
}

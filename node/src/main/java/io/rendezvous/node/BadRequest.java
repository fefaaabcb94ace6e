package io.rendezvous.node;

/** Input that is refused before it reaches any model: an HTTP 4xx with a message saying why. */
public final class BadRequest extends Exception {
  private static final long serialVersionUID = 1L;
  private final int status;

  public BadRequest(int status, String message) {
    super(message, null, false, false);
    this.status = status;
  }

  public int status() {
    return status;
  }
}

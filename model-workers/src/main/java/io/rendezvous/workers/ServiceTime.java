package io.rendezvous.workers;

/**
 * How long one pool takes per request, as the pool sees it: from handing a batch to a worker to the
 * worker being idle again, divided by the batch's size. A moving average, so that it follows the
 * machine (batches grow under load and cost less per request; a busy box costs more). Owned by the
 * pool actor.
 */
final class ServiceTime {
  /**
   * Weight of the newest batch: about the last ten batches count, a few milliseconds of work under
   * load, so a stall shows at once and one slow batch does not close the gate.
   */
  private static final double NEWEST_WEIGHT = 0.1;

  private double perRequestNanos;
  private boolean measured;

  void record(long elapsedNanos, int requests) {
    if (requests <= 0 || elapsedNanos < 0) {
      return;
    }
    double sample = (double) elapsedNanos / requests;
    perRequestNanos =
        measured ? perRequestNanos + NEWEST_WEIGHT * (sample - perRequestNanos) : sample;
    measured = true;
  }

  /** 0 until the first batch is done: nothing is refused for time before anything is measured. */
  long perRequestNanos() {
    return (long) perRequestNanos;
  }
}

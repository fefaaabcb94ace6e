package io.rendezvous.workers;

import io.rendezvous.workers.ModelPool.Score;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.function.Consumer;

/**
 * The requests of one pool that wait for a worker, owned by the pool actor. A request is
 * <em>urgent</em> while its score can still decide its answer ({@link Score#decisiveForMicros()}
 * from its arrival here) and <em>late</em> after that: a later stage of its schedule has taken
 * over, or the model is not scheduled at all (a shadow). Late scores are still wanted (the journal
 * records every model's score), but never before an urgent one, which a worker would otherwise
 * spend its time behind: under load a slow model at the head of the schedule then works through
 * requests that a faster fallback has answered already, while the ones it could still answer wait.
 *
 * <ul>
 *   <li>Admission is by deadline, not by count ({@link #offer}): a newcomer that the pool's
 *       measured pace ({@link Backlog}) says would be scored after its window is taken as late at
 *       once, and one that would be scored after nobody wants its score is refused. The capacity
 *       only bounds memory.
 *   <li>A batch is the oldest urgent requests; late ones are scored only when nothing urgent waits.
 *   <li>When the queue is full, an urgent newcomer takes the place of the oldest late request,
 *       which is refused instead; a late newcomer is refused. A full queue of urgent requests
 *       refuses the newcomer.
 *   <li>A late request still waiting when nobody records its score any more ({@link
 *       Score#wantedForMicros()}) is refused, not scored.
 * </ul>
 *
 * Refused requests go to the pool's {@code refuse}, which answers them. Urgent requests are kept in
 * arrival order and are found late when they reach the head past their time, or when a full queue
 * looks for room: for one endpoint every request of a model has the same window, so arrival order
 * is deadline order.
 */
final class WaitingRequests {
  /** The pool's pace: how long until a request with {@code ahead} requests before it is scored. */
  @FunctionalInterface
  interface Backlog {
    /** Never: a pool that has measured nothing yet refuses nothing for time. */
    Backlog UNMEASURED = ahead -> 0;

    long nanosToScore(int ahead);
  }

  private record Waiting(
      Score score, long arrivedNanos, long decisiveForNanos, long wantedForNanos) {
    boolean lateAt(long nowNanos) {
      return nowNanos - arrivedNanos >= decisiveForNanos;
    }

    boolean unwantedAt(long nowNanos) {
      return nowNanos - arrivedNanos >= wantedForNanos;
    }
  }

  private final int capacity;
  private final Consumer<Score> refuse;
  private final ArrayDeque<Waiting> urgent = new ArrayDeque<>();
  private final ArrayDeque<Waiting> late = new ArrayDeque<>();

  WaitingRequests(int capacity, Consumer<Score> refuse) {
    this.capacity = capacity;
    this.refuse = refuse;
  }

  int size() {
    return urgent.size() + late.size();
  }

  boolean isEmpty() {
    return urgent.isEmpty() && late.isEmpty();
  }

  int urgentCount() {
    return urgent.size();
  }

  int lateCount() {
    return late.size();
  }

  /** Refuses every waiting request (no worker is left to score them); returns how many. */
  int refuseAll() {
    int n = size();
    urgent.forEach(w -> refuse.accept(w.score()));
    late.forEach(w -> refuse.accept(w.score()));
    urgent.clear();
    late.clear();
    return n;
  }

  /** Adds {@code s} whatever the capacity (requests held for a batch while a worker is idle). */
  void add(Score s, long nowNanos) {
    Waiting w = waiting(s, nowNanos);
    if (w.decisiveForNanos() == 0) {
      late.add(w);
    } else {
      urgent.add(w);
    }
  }

  /** Adds {@code s} if there is room or room can be made; otherwise refuses it. */
  void offer(Score s, long nowNanos) {
    offer(s, nowNanos, Backlog.UNMEASURED);
  }

  /**
   * Adds {@code s} as urgent if {@code backlog} says it is scored within its window, as late if it
   * is scored while its score is still wanted, and refuses it otherwise, or when the queue is full
   * and no late request can give its place.
   */
  void offer(Score s, long nowNanos, Backlog backlog) {
    settleHead(nowNanos);
    Waiting w = waiting(s, nowNanos);
    boolean inTime =
        w.decisiveForNanos() > 0 && backlog.nanosToScore(urgent.size()) <= w.decisiveForNanos();
    if (!inTime && backlog.nanosToScore(size()) > w.wantedForNanos()) {
      refuse.accept(s);
      return;
    }
    if (size() >= capacity && (!inTime || !makeRoom(nowNanos))) {
      refuse.accept(s);
      return;
    }
    (inTime ? urgent : late).add(w);
  }

  /**
   * Moves urgent requests at the head that are past their window to the late, so that the ones
   * counted ahead of a newcomer are the ones that will be scored before it.
   */
  private void settleHead(long nowNanos) {
    while (!urgent.isEmpty() && urgent.peek().lateAt(nowNanos)) {
      late.add(urgent.poll());
    }
  }

  private static Waiting waiting(Score s, long nowNanos) {
    return new Waiting(s, nowNanos, nanos(s.decisiveForMicros()), nanos(s.wantedForMicros()));
  }

  /**
   * The next batch for a worker: up to {@code max} of the oldest urgent requests, or else of the
   * late.
   */
  List<Score> nextBatch(int max, long nowNanos) {
    List<Score> batch = new ArrayList<>(Math.min(max, size()));
    while (batch.size() < max && !urgent.isEmpty()) {
      Waiting w = urgent.poll();
      if (w.lateAt(nowNanos)) {
        late.add(w);
      } else {
        batch.add(w.score());
      }
    }
    if (batch.isEmpty()) {
      // nothing urgent waits: the late ones are scored, oldest first, for the record
      while (batch.size() < max && !late.isEmpty()) {
        Waiting w = late.poll();
        if (w.unwantedAt(nowNanos)) {
          refuse.accept(w.score());
        } else {
          batch.add(w.score());
        }
      }
    }
    return batch;
  }

  /**
   * Refuses the oldest late request, after moving every urgent one past its time to the late; false
   * if none.
   */
  private boolean makeRoom(long nowNanos) {
    // the whole queue, not only its head: a fallback's requests, or another endpoint's, have other
    // windows
    for (Iterator<Waiting> it = urgent.iterator(); it.hasNext(); ) {
      Waiting w = it.next();
      if (w.lateAt(nowNanos)) {
        it.remove();
        late.add(w);
      }
    }
    if (late.isEmpty()) {
      return false;
    }
    refuse.accept(late.poll().score());
    return true;
  }

  /** Saturates: "no deadline" is Long.MAX_VALUE micros; anything at or below zero is zero. */
  private static long nanos(long micros) {
    if (micros <= 0) {
      return 0;
    }
    return micros >= Long.MAX_VALUE / 1_000 ? Long.MAX_VALUE : micros * 1_000;
  }
}

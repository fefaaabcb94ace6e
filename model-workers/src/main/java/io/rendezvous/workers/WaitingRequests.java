package io.rendezvous.workers;

import io.rendezvous.workers.ModelPool.Score;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * The requests of one pool that wait for a worker, owned by the pool actor. A request is <em>urgent</em>
 * while its score can still decide its answer ({@link Score#decisiveForMicros()} from its arrival here)
 * and <em>late</em> after that: a later stage of its schedule has taken over, or the model is not
 * scheduled at all (a shadow). Late scores are still wanted (the journal records every model's score),
 * but never before an urgent one, which a worker would otherwise spend its time behind: under load a slow
 * model at the head of the schedule then works through requests that a faster fallback has answered
 * already, while the ones it could still answer wait.
 *
 * <ul>
 *   <li>A batch is the oldest urgent requests; late ones are scored only when nothing urgent waits.
 *   <li>When the queue is full, an urgent newcomer takes the place of the oldest late request, which is
 *       refused instead; a late newcomer is refused. A full queue of urgent requests refuses the newcomer.
 * </ul>
 *
 * Urgent requests are kept in arrival order and become late when they reach the head past their time. For
 * one endpoint every request of a model has the same window, so arrival order is deadline order; requests
 * of endpoints with different windows may be found late a little after their time, never before it.
 */
final class WaitingRequests {
  private record Urgent(Score score, long arrivedNanos, long decisiveForNanos) {
    boolean lateAt(long nowNanos) {
      return nowNanos - arrivedNanos >= decisiveForNanos;
    }
  }

  private final int capacity;
  private final ArrayDeque<Urgent> urgent = new ArrayDeque<>();
  private final ArrayDeque<Score> late = new ArrayDeque<>();

  WaitingRequests(int capacity) {
    this.capacity = capacity;
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

  /** Adds {@code s} whatever the capacity (requests held for a batch while a worker is idle). */
  void add(Score s, long nowNanos) {
    long window = decisiveForNanos(s);
    if (window <= 0) {
      late.add(s);
    } else {
      urgent.add(new Urgent(s, nowNanos, window));
    }
  }

  /**
   * Adds {@code s} if there is room, or makes room by refusing the oldest late request.
   *
   * @return the request refused: {@code s} itself, another one that made room for it, or null if none
   */
  Score offer(Score s, long nowNanos) {
    if (size() < capacity) {
      add(s, nowNanos);
      return null;
    }
    if (decisiveForNanos(s) <= 0) {
      return s;
    }
    demoteLate(nowNanos);
    if (late.isEmpty()) {
      return s;
    }
    Score refused = late.poll();
    add(s, nowNanos);
    return refused;
  }

  /** The next batch for a worker: up to {@code max} of the oldest urgent requests, or else of the late. */
  List<Score> nextBatch(int max, long nowNanos) {
    List<Score> batch = new ArrayList<>(Math.min(max, size()));
    while (batch.size() < max && !urgent.isEmpty()) {
      Urgent u = urgent.poll();
      if (u.lateAt(nowNanos)) {
        late.add(u.score());
      } else {
        batch.add(u.score());
      }
    }
    if (batch.isEmpty()) {
      // nothing urgent waits: the late ones are scored, oldest first, for the record
      while (batch.size() < max && !late.isEmpty()) {
        batch.add(late.poll());
      }
    }
    return batch;
  }

  /** Moves the urgent requests at the head whose time has passed to the late ones. */
  private void demoteLate(long nowNanos) {
    while (!urgent.isEmpty() && urgent.peek().lateAt(nowNanos)) {
      late.add(urgent.poll().score());
    }
  }

  private static long decisiveForNanos(Score s) {
    long micros = s.decisiveForMicros();
    // saturates: "no deadline" is Long.MAX_VALUE micros
    return micros >= Long.MAX_VALUE / 1_000 ? Long.MAX_VALUE : micros * 1_000;
  }
}

package io.rendezvous.journal;

import io.rendezvous.config.CborSerializable;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * Where rendezvous entities record each request's story: this node's {@link JournalWriter}. An
 * interface so the entity's rules for a journal that refuses, fails or confirms late can be tested.
 */
public interface Journal {
  /**
   * Queues {@code record}; {@code ackTo} (may be null) hears {@link Journal.Written} once it is
   * held, or {@link Journal.NotWritten}. False, without queuing, when the journal refuses it. The
   * acknowledgements of one offering actor's records come in the order it offered them.
   */
  boolean offer(JournalRecord record, ActorRef<Journal.Ack> ackTo);

  /**
   * As {@link #offer}, for a record nobody is waiting on now (an input, a score): it does not wake
   * the writer, which takes it with the next record someone waits on, or after a short delay at
   * most. Records are written in the order offered either way, so an acknowledged record implies
   * every record before it.
   */
  default boolean offerLazily(JournalRecord record, ActorRef<Journal.Ack> ackTo) {
    return offer(record, ackTo);
  }

  /** Null when the journal is writing; otherwise why it is not. */
  String unwritableReason();

  /**
   * How many records accepted by {@link #offer} this journal has failed to write so far. Records
   * are written in order and every acknowledgement carries the count as it was when it was sent, so
   * a record offered when the count was n is held if a later record is acknowledged {@link
   * Journal.Written} with the count still n: the one acknowledgement answers for both.
   */
  long failures();

  /** Reply to an acknowledged offer. Never a command. */
  public sealed interface Ack extends CborSerializable {
    String requestId();

    String recordType();

    /**
     * How many records the journal had failed to write when it sent this acknowledgement (see
     * {@link Journal#failures()}): with the count read when an earlier record was offered, it says
     * whether that record is held too.
     */
    long failures();
  }

  /** The record (and everything offered before it) is in the memory-mapped queue. */
  public record Written(String requestId, String recordType, long failures) implements Ack {}

  /** The record could not be written. */
  public record NotWritten(String requestId, String recordType, String reason, long failures)
      implements Ack {}
}

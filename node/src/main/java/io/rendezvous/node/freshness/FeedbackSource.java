package io.rendezvous.node.freshness;

import io.rendezvous.kafka.FeedbackTopic;
import io.rendezvous.kafka.KafkaSettings;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.stream.UniqueKillSwitch;

/**
 * The trainer's corrections: the feedback topic read from its start ({@link FeedbackTopic}), each
 * record read as a {@link Correction}; a record it cannot use is logged and passed over.
 */
public final class FeedbackSource {
  private static final org.slf4j.Logger log =
      org.slf4j.LoggerFactory.getLogger(FeedbackSource.class);

  private FeedbackSource() {}

  public static UniqueKillSwitch start(
      ActorSystem<?> system,
      KafkaSettings kafka,
      double heldOutShare,
      ActorRef<Freshness.Command> trainer,
      Executor blocking) {
    return FeedbackTopic.follow(
        system,
        kafka,
        value -> {
          try {
            Correction c = Correction.fromJson(value, heldOutShare);
            if (c != null) {
              trainer.tell(new Freshness.Corrected(c));
            }
          } catch (java.io.IOException | RuntimeException e) {
            log.warn(
                "freshness: a record on {} is not a correction it can use: {}",
                kafka.feedbackTopic(),
                e.toString());
          }
        },
        blocking);
  }
}

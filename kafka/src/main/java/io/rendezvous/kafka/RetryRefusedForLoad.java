package io.rendezvous.kafka;

import io.rendezvous.actors.Reply;
import io.rendezvous.actors.edge.ReplyRenderer;
import io.rendezvous.model.TensorData;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.pattern.Patterns;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One stream record's instances, asked until none is refused for load ({@link
 * Reply.Rejected#forLoad()}): the instances answered stay answered, the refused ones are asked
 * again (as new requests, each journaled as such) after a backoff that doubles up to its maximum. A
 * rejection that coming again would not change (a model failing on the input) is kept. Waits on the
 * scheduler, never on a thread.
 */
final class RetryRefusedForLoad {
  private static final Logger log = LoggerFactory.getLogger(RetryRefusedForLoad.class);

  private final ActorSystem<?> system;
  private final Function<List<TensorData>, CompletionStage<List<Reply>>> predict;
  private final String key;
  private final Duration minBackoff;
  private final Duration maxBackoff;
  private final int logEvery;

  RetryRefusedForLoad(
      ActorSystem<?> system,
      Function<List<TensorData>, CompletionStage<List<Reply>>> predict,
      String key,
      Duration minBackoff,
      Duration maxBackoff,
      int logEvery) {
    this.system = system;
    this.predict = predict;
    this.key = key;
    this.minBackoff = minBackoff;
    this.maxBackoff = maxBackoff;
    this.logEvery = Math.max(1, logEvery);
  }

  /** Every instance's reply, in order, none of them refused for load. */
  CompletionStage<List<Reply>> answerAll(List<TensorData> instances) {
    return attempt(instances, new Reply[instances.size()], 0);
  }

  private CompletionStage<List<Reply>> attempt(
      List<TensorData> instances, Reply[] replies, int retries) {
    List<Integer> open = new ArrayList<>();
    for (int i = 0; i < replies.length; i++) {
      if (replies[i] == null || refusedForLoad(replies[i])) {
        open.add(i);
      }
    }
    List<TensorData> asked = open.stream().map(instances::get).toList();
    return predict
        .apply(asked)
        .thenCompose(
            got -> {
              boolean refused = false;
              for (int j = 0; j < got.size(); j++) {
                replies[open.get(j)] = got.get(j);
                refused |= refusedForLoad(got.get(j));
              }
              if (!refused) {
                return CompletableFuture.completedFuture(List.of(replies));
              }
              int next = retries + 1;
              Duration wait = backoff(next);
              if (next == 1 || next % logEvery == 0) {
                log.warn(
                    "stream record {}: refused for load, retry {} in {} ms ({})",
                    key,
                    next,
                    wait.toMillis(),
                    ReplyRenderer.firstError(List.of(replies)));
              }
              return Patterns.after(
                  wait,
                  system.classicSystem().scheduler(),
                  system.executionContext(),
                  () -> attempt(instances, replies, next));
            });
  }

  /** min-backoff for the first retry, doubling up to max-backoff. */
  Duration backoff(int retry) {
    Duration d = minBackoff.multipliedBy(1L << Math.min(retry - 1, 30));
    return d.compareTo(maxBackoff) > 0 || d.isNegative() ? maxBackoff : d;
  }

  private static boolean refusedForLoad(Reply r) {
    return r instanceof Reply.Rejected rej && rej.forLoad();
  }
}

package io.rendezvous.actors.edge;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;

/**
 * Pekko's Java API hands out Scala futures wrapped as {@code CompletionStage}s, and that wrapper
 * runs every plain continuation ({@code thenApply}, {@code thenCompose}, {@code exceptionally} ...)
 * as if it were {@code ...Async}: on {@code ForkJoinPool.commonPool}, which has a single thread on
 * a 2-core machine. Every request's JSON decoding and rendering then queued behind one thread, one
 * hop away from the HTTP and actor threads. Stages taken from Pekko go through {@link #here} so
 * their continuations run on the thread that completes them, as plain {@link CompletableFuture}s
 * do.
 */
public final class Futures {
  private Futures() {}

  /**
   * Runs a continuation on the thread that completed the stage (or the caller's, if it already
   * had).
   */
  static final Executor COMPLETING_THREAD = Runnable::run;

  /** A plain CompletableFuture completed on the thread that completes {@code stage}. */
  public static <T> CompletableFuture<T> here(CompletionStage<T> stage) {
    if (stage.getClass() == CompletableFuture.class) {
      return (CompletableFuture<T>) stage;
    }
    CompletableFuture<T> plain = new CompletableFuture<>();
    stage.whenCompleteAsync(
        (value, error) -> {
          if (error != null) {
            plain.completeExceptionally(error);
          } else {
            plain.complete(value);
          }
        },
        COMPLETING_THREAD);
    return plain;
  }
}

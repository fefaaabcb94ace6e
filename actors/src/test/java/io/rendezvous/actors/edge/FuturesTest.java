package io.rendezvous.actors.edge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import scala.concurrent.Promise;
import scala.jdk.javaapi.FutureConverters;

class FuturesTest {

  @Test
  void continuationsOfAPekkoStageRunOnTheThreadThatCompletesIt() throws Exception {
    Promise<String> promise = Promise.apply();
    CompletionStage<String> pekkoStyle = FutureConverters.asJava(promise.future());
    AtomicReference<Thread> ranOn = new AtomicReference<>();
    CompletableFuture<Integer> length =
        Futures.here(pekkoStyle)
            .thenApply(
                s -> {
                  ranOn.set(Thread.currentThread());
                  return s.length();
                });

    Thread completer = new Thread(() -> promise.success("decoded"), "completer");
    completer.start();
    completer.join();

    // already done when the completer returns: no hop to another pool
    assertTrue(length.isDone());
    assertEquals(7, length.get());
    assertSame(completer, ranOn.get());
  }

  @Test
  void failuresPassThrough() {
    Promise<String> promise = Promise.apply();
    CompletableFuture<String> here = Futures.here(FutureConverters.asJava(promise.future()));
    promise.failure(new IllegalStateException("broken body"));
    ExecutionException e =
        org.junit.jupiter.api.Assertions.assertThrows(
            ExecutionException.class, () -> here.get(1, TimeUnit.SECONDS));
    assertEquals("broken body", e.getCause().getMessage());
  }

  @Test
  void aPlainFutureIsKept() {
    CompletableFuture<String> plain = new CompletableFuture<>();
    assertSame(plain, Futures.here(plain));
  }
}

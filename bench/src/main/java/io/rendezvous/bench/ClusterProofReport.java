package io.rendezvous.bench;

import io.rendezvous.bench.ClusterProof.Outcome;
import java.io.PrintStream;
import java.util.List;

/**
 * The cluster proof's figures: requests sent, answered and failed, p50/p99 before, during and after
 * the stop, when latency was back to normal, and what the hop to an entity on another node costs.
 */
final class ClusterProofReport {
  private ClusterProofReport() {}

  /** Prints the figures; returns the ids of the requests answered 200. */
  static List<String> print(
      PrintStream out, List<Outcome> all, long killNanos, ClusterProof.Signal signal) {
    all.sort((a, b) -> Long.compare(a.sentNanos(), b.sentNanos()));
    long ok = all.stream().filter(o -> o.status() == 200).count();

    // back to normal: the start of the first one-second window after the stop from which every
    // later window had every request answered 200 with a p99 no worse than twice the p99 before the
    // stop
    long[] before =
        all.stream()
            .filter(o -> o.sentNanos() < killNanos && o.status() == 200)
            .mapToLong(Outcome::latencyNanos)
            .sorted()
            .toArray();
    double normalP99 = 2 * pct(before, 99);
    long second = 1_000_000_000L;
    long recovered = killNanos;
    long lastSent = all.isEmpty() ? 0 : all.get(all.size() - 1).sentNanos();
    for (long w = (killNanos / second) * second; w <= lastSent; w += second) {
      long from = w;
      List<Outcome> window =
          all.stream().filter(o -> o.sentNanos() >= from && o.sentNanos() < from + second).toList();
      long[] lat =
          window.stream()
              .filter(o -> o.status() == 200)
              .mapToLong(Outcome::latencyNanos)
              .sorted()
              .toArray();
      boolean normal =
          window.stream().allMatch(o -> o.status() == 200)
              && (lat.length == 0 || pct(lat, 99) <= normalP99);
      if (!normal) {
        recovered = from + second;
      }
    }
    out.printf(
        "requests sent %d, answered 200: %d (%.2f%%), failed: %d%n",
        all.size(), ok, 100.0 * ok / all.size(), all.size() - ok);
    out.printf(
        "%-8s %8s %8s %8s %10s %10s%n", "phase", "sent", "200", "failed", "p50 ms", "p99 ms");
    phase(out, "before", all, 0, killNanos);
    phase(out, "during", all, killNanos, recovered);
    phase(out, "after", all, recovered, Long.MAX_VALUE);
    long settled = killNanos + 10 * second;
    List<Outcome> late = all.stream().filter(o -> o.sentNanos() >= settled).toList();
    out.printf(
        "from 10 s after the stop: %d sent, %d not answered 200%n",
        late.size(), late.stream().filter(o -> o.status() != 200).count());
    out.printf(
        "SIG%s at %.1f s; normal again (every request 200, p99 <= %.0f ms, twice the p99 before) from"
            + " %.1f s: back to normal in %.1f s%n",
        signal, killNanos / 1e9, normalP99 / 1e6, recovered / 1e9, (recovered - killNanos) / 1e9);
    // what the hop between the node a request entered and its entity's node costs, before the stop
    long[] local =
        all.stream()
            .filter(
                o ->
                    o.sentNanos() < killNanos
                        && o.status() == 200
                        && Boolean.TRUE.equals(o.entityLocal()))
            .mapToLong(Outcome::latencyNanos)
            .sorted()
            .toArray();
    long[] remote =
        all.stream()
            .filter(
                o ->
                    o.sentNanos() < killNanos
                        && o.status() == 200
                        && Boolean.FALSE.equals(o.entityLocal()))
            .mapToLong(Outcome::latencyNanos)
            .sorted()
            .toArray();
    out.printf(
        "before the stop: entity on the node the request entered: %d requests, p50 %.2f ms, p99 %.2f ms;"
            + " on another node: %d requests, p50 %.2f ms, p99 %.2f ms%n",
        local.length,
        pct(local, 50) / 1e6,
        pct(local, 99) / 1e6,
        remote.length,
        pct(remote, 50) / 1e6,
        pct(remote, 99) / 1e6);
    // every failure, by the second it was sent in and its status (-1: no response)
    java.util.Map<String, Long> failures =
        all.stream()
            .filter(o -> o.status() != 200)
            .collect(
                java.util.stream.Collectors.groupingBy(
                    o -> String.format("%3d s: status %d", o.sentNanos() / second, o.status()),
                    java.util.TreeMap::new,
                    java.util.stream.Collectors.counting()));
    failures.forEach((at, n) -> out.printf("  failed at %s x%d%n", at, n));
    return all.stream()
        .filter(o -> o.status() == 200 && o.requestId() != null)
        .map(Outcome::requestId)
        .toList();
  }

  private static void phase(PrintStream out, String name, List<Outcome> all, long from, long to) {
    List<Outcome> in =
        all.stream().filter(o -> o.sentNanos() >= from && o.sentNanos() < to).toList();
    long ok = in.stream().filter(o -> o.status() == 200).count();
    long[] lat =
        in.stream()
            .filter(o -> o.status() == 200)
            .mapToLong(Outcome::latencyNanos)
            .sorted()
            .toArray();
    out.printf(
        "%-8s %8d %8d %8d %10.2f %10.2f%n",
        name, in.size(), ok, in.size() - ok, pct(lat, 50) / 1e6, pct(lat, 99) / 1e6);
  }

  private static double pct(long[] sorted, int p) {
    if (sorted.length == 0) {
      return Double.NaN;
    }
    return sorted[
        Math.min(sorted.length - 1, Math.max(0, (int) Math.ceil(p / 100.0 * sorted.length) - 1))];
  }
}

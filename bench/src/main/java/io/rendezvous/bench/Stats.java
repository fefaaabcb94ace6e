package io.rendezvous.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/** Median, min and max of repeated measurements. */
record Stats(double median, double min, double max) {
  static Stats of(List<Double> values) {
    double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    double median =
        v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    return new Stats(median, v[0], v[v.length - 1]);
  }

  double spreadPercent() {
    return 100 * (max - min) / median;
  }

  void into(ObjectNode n, String name) {
    n.put(name + "_median", median);
    n.put(name + "_min", min);
    n.put(name + "_max", max);
  }
}

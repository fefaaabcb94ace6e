package io.rendezvous.node;

import com.typesafe.config.Config;

/**
 * {@code rendezvous.grpc}: the Open Inference Protocol's gRPC service ({@link GrpcInference}), on a
 * port of its own, on the HTTP host.
 */
record GrpcSettings(
    boolean enabled, int port, java.time.Duration deadlineAllowance, boolean reflection) {
  static GrpcSettings fromConfig(Config root) {
    Config c = root.getConfig("rendezvous.grpc");
    return new GrpcSettings(
        c.getBoolean("enabled"),
        c.getInt("port"),
        c.getDuration("deadline-allowance"),
        c.getBoolean("reflection"));
  }
}

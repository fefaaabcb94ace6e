package io.rendezvous.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Artery over TLS with the key pair node/bin/make-cluster-keys makes: nodes holding it form a
 * cluster; a node holding another pair cannot join it.
 */
@Tag("integration")
class TlsClusterIT {
  static final ActorTestKit kit = ActorTestKit.create();
  static final String PASSWORD = "cluster-secret";
  @TempDir static Path dir;
  static final List<TestNode> nodes = new ArrayList<>();

  @AfterAll
  static void stopAll() throws Exception {
    for (TestNode n : nodes) {
      try {
        n.close();
      } catch (Exception e) {
        // a node that could not join has stopped itself already
      }
    }
    kit.shutdownTestKit();
  }

  static Path keys(String name) throws Exception {
    Path keys = dir.resolve(name);
    Process p =
        new ProcessBuilder("bin/make-cluster-keys", keys.toString(), PASSWORD)
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes());
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException("make-cluster-keys failed: " + out);
    }
    return keys;
  }

  static TestNode start(String name, Path keys, int port, int seedPort) throws Exception {
    TestNode node =
        TestNode.start(
            dir.resolve(name),
            String.join(
                "\n",
                "rendezvous.node-name = \"" + name + "\"",
                "pekko.remote.artery.transport = tls-tcp",
                "pekko.remote.artery.canonical.port = " + port,
                "pekko.remote.artery.ssl.config-ssl-engine {",
                "  key-store = \"" + keys.resolve("keystore.p12") + "\"",
                "  trust-store = \"" + keys.resolve("truststore.p12") + "\"",
                "  key-store-password = \"" + PASSWORD + "\"",
                "  key-password = \"" + PASSWORD + "\"",
                "  trust-store-password = \"" + PASSWORD + "\"",
                "}",
                "rendezvous.seed-nodes = \"127.0.0.1:" + seedPort + "\"",
                "pekko.cluster.seed-node-timeout = 2s",
                "pekko.cluster.retry-unsuccessful-join-after = 1s"));
    nodes.add(node);
    return node;
  }

  static long up(TestNode n) {
    long count = 0;
    for (Member m : Cluster.get(n.node.system()).state().getMembers()) {
      if (m.status() == MemberStatus.up()) {
        count++;
      }
    }
    return count;
  }

  @Test
  void nodesWithTheClusterKeysFormAClusterAndAStrangerCannotJoin() throws Exception {
    Path cluster = keys("cluster");
    Path other = keys("other");
    int seed = TcpProxy.freePort();
    TestNode a = start("tls-1", cluster, seed, seed);
    TestNode b = start("tls-2", cluster, TcpProxy.freePort(), seed);
    TestProbe<Object> wait = kit.createTestProbe();
    for (TestNode n : List.of(a, b)) {
      wait.awaitAssert(
          Duration.ofSeconds(40),
          Duration.ofMillis(250),
          () -> {
            assertEquals(2, up(n));
            return null;
          });
    }
    // the same cluster, another key pair: its TLS handshakes fail, it never becomes a member
    TestNode stranger = start("stranger", other, TcpProxy.freePort(), seed);
    wait.expectNoMessage(Duration.ofSeconds(8));
    int members = 0;
    for (Member m : Cluster.get(a.node.system()).state().getMembers()) {
      members++;
      assertFalse(m.address().equals(Cluster.get(stranger.node.system()).selfMember().address()));
    }
    assertEquals(2, members);
  }
}

package io.rendezvous.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.net.URL;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Between reference.conf files the classpath order decides, and the run script's {@code lib/*}
 * gives no order: a Pekko default overridden in one of ours held or not by chance (a dispatcher
 * size meant to be 2 threads ran with Pekko's 8). Our overrides of other libraries live in
 * rendezvous-cluster.conf, which the node's application.conf includes.
 */
class ConfigLayeringTest {

  @Test
  void ourReferenceConfsSetOnlyOurOwnKeys() throws Exception {
    List<URL> ours = new ArrayList<>();
    for (URL url : Collections.list(getClass().getClassLoader().getResources("reference.conf"))) {
      Config c = ConfigFactory.parseURL(url);
      if (c.hasPath("rendezvous")) {
        ours.add(url);
        assertFalse(
            c.hasPath("pekko"),
            url + " overrides pekko.* settings; put them in rendezvous-cluster.conf");
      }
    }
    assertTrue(ours.size() >= 3, "found our reference.conf files: " + ours);
  }

  @Test
  void theNodesPekkoOverridesTakeEffect() {
    Config c = ConfigFactory.load();
    assertEquals(1024, c.getInt("pekko.http.server.backlog"));
  }
}

package io.rendezvous.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.rendezvous.actors.edge.Json;
import io.rendezvous.workers.data.FashionMnist;
import io.rendezvous.workers.data.HoldoutBodies;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * The dashboard in a real browser: headless Chromium (Debian's, driven through its ChromeDriver)
 * opens {@code /dashboard} on a node that has served traffic, and once the load has stopped the
 * values it renders are those {@code /metrics} gives: predictions per label of each model version,
 * requests by route and status, answers by choice, drift, cluster members.
 */
class DashboardBrowserTest {
  static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");

  @TempDir static Path dir;
  static TestNode node;

  @BeforeAll
  static void start() throws Exception {
    Assumptions.assumeTrue(
        Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
        "Debian's chromium and chromium-driver are not installed (.ci/run installs them)");
    node =
        TestNode.start(
            dir.resolve("data"),
            "rendezvous.watch.drift-window = 100\nrendezvous.watch.drift-minimum = 50\n"
                + "rendezvous.watch.drift-sample-rate = 1000000\n");
    List<FashionMnist.Sample> holdout = FashionMnist.load().holdout();
    for (int i = 0; i < 60; i++) {
      post("/v2/models/rendezvous/infer", HoldoutBodies.oip(holdout.get(i)), 200);
    }
    for (int i = 0; i < 60; i++) {
      post("/v2/models/m3/infer", HoldoutBodies.oip(ModelWatchTest.inverted(holdout.get(i))), 200);
    }
    post("/v2/models/m3/infer", "{\"inputs\": []}", 400);
    ModelWatchTest.node = node;
    // the load has stopped: wait for the watch to have read and settled all of it
    ModelWatchTest.awaitMetrics(
        t -> ModelWatchTest.sum(t, "rendezvous_answers_total", Map.of()) >= 120);
  }

  @AfterAll
  static void stop() throws Exception {
    if (node != null) {
      node.close();
    }
  }

  static void post(String path, String body, int status) throws Exception {
    var r = node.post(path, "application/json", body.getBytes(StandardCharsets.UTF_8));
    assertEquals(status, r.statusCode(), r.body());
  }

  static WebDriver browser() {
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM.toFile());
    options.addArguments(
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1500,2200",
        "--user-data-dir=" + dir.resolve("chromium-profile"));
    ChromeDriverService service =
        new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile()).build();
    return new ChromeDriver(service, options);
  }

  /** Waits until the page has drawn a poll made after {@code afterMillis}. */
  static void awaitPollAfter(WebDriver page, long afterMillis) throws InterruptedException {
    long until = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (System.nanoTime() < until) {
      WebElement status = page.findElement(By.id("status"));
      String at = status.getDomAttribute("data-at");
      if ("live".equals(status.getDomAttribute("data-state"))
          && at != null
          && Long.parseLong(at) > afterMillis) {
        return;
      }
      Thread.sleep(100);
    }
    throw new AssertionError(
        "the dashboard did not draw a poll: " + page.findElement(By.id("status")).getText());
  }

  /** The values the page shows, read from its DOM in one script run. */
  static final String RENDERED_VALUES =
      """
      const text = (e, sel) => e.querySelector(sel).textContent;
      const out = { cards: {}, requests: {}, answers: [], drift: {}, members: {} };
      for (const card of document.querySelectorAll('.card[data-series]')) {
        const rows = {};
        for (const tr of card.querySelectorAll('tr[data-label]')) {
          rows[tr.dataset.label] = text(tr, '.count');
        }
        out.cards[card.dataset.series] = rows;
      }
      for (const tr of document.querySelectorAll('#requests tr[data-route]')) {
        out.requests[tr.dataset.route + ' ' + tr.dataset.endpoint + ' ' + tr.dataset.code] =
            text(tr, '.count');
      }
      for (const tr of document.querySelectorAll('#answers tr[data-endpoint]')) {
        out.answers.push({ endpoint: tr.dataset.endpoint, model: tr.dataset.model,
            stage: tr.dataset.stage, policy: tr.dataset.policy, status: tr.dataset.status,
            count: text(tr, '.count') });
      }
      for (const tr of document.querySelectorAll('#drift tr[data-drift="input"]')) {
        const cell = tr.querySelector('.psi');
        out.drift[tr.dataset.series.split('/')[0] + ' ' + tr.dataset.statistic] =
            { text: cell.textContent, high: cell.classList.contains('psi-high') };
      }
      for (const tr of document.querySelectorAll('#members tr[data-status]')) {
        out.members[tr.dataset.status] = text(tr, '.count');
      }
      return JSON.stringify(out);
      """;

  @Test
  void theRenderedValuesAreTheMetricsOnceTheLoadHasStopped() throws Exception {
    long loadStopped = System.currentTimeMillis();
    WebDriver page = browser();
    try {
      page.get(node.uri("/dashboard").toString());
      awaitPollAfter(page, loadStopped);
      String metrics = ModelWatchTest.metrics();
      // the page redraws every poll: its rendered values are read in one go, as one frame shows
      // them
      JsonNode shown =
          Json.MAPPER.readTree((String) ((JavascriptExecutor) page).executeScript(RENDERED_VALUES));

      // what each model version predicted, per label, against rendezvous_predictions_total
      JsonNode cards = shown.path("cards");
      assertEquals(4, cards.size(), "rendezvous/m1, m2, m3 and m3/m3: " + cards);
      int rows = 0;
      for (var card : (Iterable<Map.Entry<String, JsonNode>>) cards::fields) {
        String series = card.getKey();
        String endpoint = series.substring(0, series.indexOf('/'));
        String model = series.substring(series.indexOf('/') + 1, series.indexOf('@'));
        String version = series.substring(series.indexOf('@') + 1);
        for (var row : (Iterable<Map.Entry<String, JsonNode>>) card.getValue()::fields) {
          double expected =
              ModelWatchTest.sum(
                  metrics,
                  "rendezvous_predictions_total",
                  Map.of(
                      "endpoint", endpoint,
                      "model", model,
                      "version", version,
                      "label", row.getKey()));
          assertEquals(
              String.valueOf(Math.round(expected)),
              row.getValue().asText(),
              series + " " + row.getKey());
          rows++;
        }
      }
      assertEquals(40, rows, "10 labels in each of the 4 cards");

      // requests by route, endpoint and status
      assertEquals("60", shown.path("requests").path("infer rendezvous 200").asText());
      assertEquals("1", shown.path("requests").path("infer m3 400").asText());

      // answers by chosen version, stage and policy
      long total = 0;
      for (JsonNode row : shown.path("answers")) {
        String chosen = row.path("model").asText();
        double expected =
            ModelWatchTest.sum(
                metrics,
                "rendezvous_answers_total",
                Map.of(
                    "endpoint", row.path("endpoint").asText(),
                    "model", chosen.substring(0, chosen.indexOf('@')),
                    "stage", row.path("stage").asText(),
                    "policy", row.path("policy").asText(),
                    "status", row.path("status").asText()));
        assertEquals(
            String.valueOf(Math.round(expected)), row.path("count").asText(), row.toString());
        total += row.path("count").asLong();
      }
      assertEquals(120, total);

      // drift: the inverted images sent to m3 are far from what m3 was trained on
      double psi =
          ModelWatchTest.sum(
              metrics,
              "rendezvous_input_drift_psi",
              Map.of("endpoint", "m3", "statistic", "mean_pixel"));
      assertTrue(psi > 0.25, "PSI " + psi);
      JsonNode drift = shown.path("drift").path("m3 mean_pixel");
      assertEquals(String.format(Locale.ROOT, "%.3f", psi), drift.path("text").asText());
      assertTrue(drift.path("high").asBoolean(), "shown as high: " + drift);

      // the cluster as this node sees it
      assertEquals("1", shown.path("members").path("up").asText());

      byte[] png = ((org.openqa.selenium.TakesScreenshot) page).getScreenshotAs(OutputType.BYTES);
      Path shot = Path.of("target", "dashboard.png");
      Files.createDirectories(shot.getParent());
      Files.write(shot, png);
    } finally {
      page.quit();
    }
  }
}

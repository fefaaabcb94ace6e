package io.rendezvous.loadtests;

import static io.gatling.javaapi.core.CoreDsl.ByteArrayBody;
import static io.gatling.javaapi.core.CoreDsl.StringBody;
import static io.gatling.javaapi.core.CoreDsl.jsonPath;
import static io.gatling.javaapi.core.CoreDsl.listFeeder;
import static io.gatling.javaapi.core.CoreDsl.percent;
import static io.gatling.javaapi.core.CoreDsl.scenario;
import static io.gatling.javaapi.http.HttpDsl.http;
import static io.gatling.javaapi.http.HttpDsl.status;

import io.gatling.javaapi.core.ScenarioBuilder;
import io.gatling.javaapi.core.Simulation;
import io.gatling.javaapi.http.HttpProtocolBuilder;
import java.util.Base64;

/** A mix: 60% JSON /predict, 25% PNG /predict, 15% OIP infer on a single model (m3). */
public class MixedSimulation extends Simulation {
  HttpProtocolBuilder protocol = http.baseUrl(Load.baseUrl()).acceptHeader("application/json");

  static ScenarioBuilder build(String prefix) {
    return scenario(prefix + "mixed")
        .feed(listFeeder(Load.images()).circular())
        .randomSwitch()
        .on(
            percent(60.0)
                .then(
                    exec(
                        http(prefix + "predict json")
                            .post("/predict")
                            .header("Content-Type", "application/json")
                            .body(StringBody("#{json}"))
                            .check(status().is(200), jsonPath("$.predictions[0].label").exists()))),
            percent(25.0)
                .then(
                    exec(
                        http(prefix + "predict png")
                            .post("/predict")
                            .header("Content-Type", "image/png")
                            .body(
                                ByteArrayBody(
                                    session ->
                                        Base64.getDecoder().decode(session.getString("png"))))
                            .check(status().is(200)))),
            percent(15.0)
                .then(
                    exec(
                        http(prefix + "infer m3")
                            .post("/v2/models/m3/infer")
                            .header("Content-Type", "application/json")
                            .body(StringBody("#{oip}"))
                            .check(status().is(200), jsonPath("$.model_name").is("m3")))));
  }

  {
    setUp(Load.withWarmUp(build("warm-up "), build("")))
        .protocols(protocol)
        .assertions(Load.assertions("predict json", "predict png", "infer m3"));
  }

  private static io.gatling.javaapi.core.ChainBuilder exec(
      io.gatling.javaapi.http.HttpRequestActionBuilder request) {
    return io.gatling.javaapi.core.CoreDsl.exec(request);
  }
}

package io.rendezvous.loadtests;

import static io.gatling.javaapi.core.CoreDsl.ByteArrayBody;
import static io.gatling.javaapi.core.CoreDsl.jsonPath;
import static io.gatling.javaapi.core.CoreDsl.listFeeder;
import static io.gatling.javaapi.core.CoreDsl.scenario;
import static io.gatling.javaapi.http.HttpDsl.http;
import static io.gatling.javaapi.http.HttpDsl.status;

import io.gatling.javaapi.core.ScenarioBuilder;
import io.gatling.javaapi.core.Simulation;
import io.gatling.javaapi.http.HttpProtocolBuilder;
import java.util.Base64;

/** {@code POST /predict} with PNG images, decoded by the node. */
public class PredictPngSimulation extends Simulation {
  HttpProtocolBuilder protocol = http.baseUrl(Load.baseUrl()).acceptHeader("application/json");

  static ScenarioBuilder build(String name) {
    return scenario(name)
        .feed(listFeeder(Load.images()).circular())
        .exec(
            http(name)
                .post("/predict")
                .header("Content-Type", "image/png")
                .body(
                    ByteArrayBody(session -> Base64.getDecoder().decode(session.getString("png"))))
                .check(status().is(200), jsonPath("$.predictions[0].label").exists()));
  }

  {
    setUp(Load.withWarmUp(build("warm-up predict png"), build("POST /predict png")))
        .protocols(protocol)
        .assertions(Load.assertions("POST /predict png"));
  }
}

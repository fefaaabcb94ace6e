package io.rendezvous.loadtests;

import static io.gatling.javaapi.core.CoreDsl.StringBody;
import static io.gatling.javaapi.core.CoreDsl.jsonPath;
import static io.gatling.javaapi.core.CoreDsl.listFeeder;
import static io.gatling.javaapi.core.CoreDsl.scenario;
import static io.gatling.javaapi.http.HttpDsl.http;
import static io.gatling.javaapi.http.HttpDsl.status;

import io.gatling.javaapi.core.ScenarioBuilder;
import io.gatling.javaapi.core.Simulation;
import io.gatling.javaapi.http.HttpProtocolBuilder;

/** {@code POST /predict} with JSON instances: the full rendezvous. */
public class PredictJsonSimulation extends Simulation {
  HttpProtocolBuilder protocol = http.baseUrl(Load.baseUrl()).acceptHeader("application/json");

  static ScenarioBuilder build(String name) {
    return scenario(name)
        .feed(listFeeder(Load.images()).circular())
        .exec(
            http(name)
                .post("/predict")
                .header("Content-Type", "application/json")
                .body(StringBody("#{json}"))
                .check(
                    status().is(200),
                    jsonPath("$.predictions[0].request_id").exists(),
                    jsonPath("$.predictions[0].label").exists()));
  }

  {
    setUp(Load.withWarmUp(build("warm-up predict json"), build("POST /predict json")))
        .protocols(protocol)
        .assertions(Load.assertions("POST /predict json"));
  }
}

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

/** Open Inference Protocol v2: {@code POST /v2/models/rendezvous/infer}. */
public class OipInferSimulation extends Simulation {
  HttpProtocolBuilder protocol = http.baseUrl(Load.baseUrl()).acceptHeader("application/json");

  static ScenarioBuilder build(String name) {
    return scenario(name)
        .feed(listFeeder(Load.images()).circular())
        .exec(
            http(name)
                .post("/v2/models/rendezvous/infer")
                .header("Content-Type", "application/json")
                .body(StringBody("#{oip}"))
                .check(
                    status().is(200),
                    jsonPath("$.outputs[0].data").exists(),
                    jsonPath("$.model_name").is("rendezvous")));
  }

  {
    setUp(Load.withWarmUp(build("warm-up infer"), build("POST /v2/models/rendezvous/infer")))
        .protocols(protocol)
        .assertions(Load.assertions("POST /v2/models/rendezvous/infer"));
  }
}

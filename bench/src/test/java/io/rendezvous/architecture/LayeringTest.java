package io.rendezvous.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Modules depend one way: cluster-config, model-api &lt;- journal, model-workers &lt;- actors &lt;-
 * kafka &lt;- node &lt;- bench; monitor (watching models) sees only the journal and model-api, and
 * only the node sees it; grpc (the protocol's generated API) sees none of them, and only the node
 * and the bench see it. Checked here, in the bench module, the one that sees every other.
 */
class LayeringTest {
  private static final String CONFIG = "io.rendezvous.config..";
  private static final String MODEL_API = "io.rendezvous.model..";
  private static final String JOURNAL = "io.rendezvous.journal..";
  private static final String WORKERS = "io.rendezvous.workers..";
  private static final String ACTORS = "io.rendezvous.actors..";
  private static final String KAFKA = "io.rendezvous.kafka..";
  private static final String MONITOR = "io.rendezvous.monitor..";
  private static final String GRPC = "io.rendezvous.grpc..";
  private static final String NODE = "io.rendezvous.node..";
  private static final String BENCH = "io.rendezvous.bench..";
  private static final String PEKKO_HTTP = "org.apache.pekko.http..";
  private static final String SHARDING = "org.apache.pekko.cluster.sharding..";
  private static final String[] KAFKA_CLIENTS = {"org.apache.kafka..", "org.apache.pekko.kafka.."};

  static JavaClasses classes;

  @BeforeAll
  static void importClasses() {
    classes =
        new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            // the other modules' test jars (fixtures like TestNode) are tests too
            .withImportOption(location -> !location.contains("-tests.jar"))
            .importPackages("io.rendezvous");
  }

  @Test
  void configDependsOnNoOtherModule() {
    noClasses()
        .that()
        .resideInAPackage(CONFIG)
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(MODEL_API, JOURNAL, WORKERS, ACTORS, KAFKA, NODE, BENCH)
        .check(classes);
  }

  @Test
  void modelApiIsPlainTypes() {
    noClasses()
        .that()
        .resideInAPackage(MODEL_API)
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            CONFIG,
            JOURNAL,
            WORKERS,
            ACTORS,
            KAFKA,
            NODE,
            BENCH,
            "org.apache.pekko..",
            "ai.djl..",
            "net.openhft..")
        .check(classes);
  }

  @Test
  void theJournalIsALibraryWithoutHttpShardingOrModels() {
    noClasses()
        .that()
        .resideInAPackage(JOURNAL)
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(WORKERS, ACTORS, KAFKA, NODE, BENCH, PEKKO_HTTP, SHARDING, "ai.djl..")
        .check(classes);
  }

  @Test
  void modelWorkersKnowNothingOfTheJournalActorsHttpShardingOrKafka() {
    noClasses()
        .that()
        .resideInAPackage(WORKERS)
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(JOURNAL, ACTORS, KAFKA, NODE, BENCH, PEKKO_HTTP, SHARDING)
        .orShould()
        .dependOnClassesThat()
        .resideInAnyPackage(KAFKA_CLIENTS)
        .check(classes);
  }

  @Test
  void actorsDoNotReachIntoKafkaTheNodeOrHttp() {
    noClasses()
        .that()
        .resideInAPackage(ACTORS)
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(KAFKA, NODE, BENCH, PEKKO_HTTP)
        .check(classes);
  }

  @Test
  void theMonitorSeesOnlyTheJournalAndModelTypes() {
    noClasses()
        .that()
        .resideInAPackage(MONITOR)
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(WORKERS, ACTORS, KAFKA, NODE, BENCH, "org.apache.pekko..", "ai.djl..")
        .check(classes);
    noClasses()
        .that()
        .resideInAnyPackage(CONFIG, MODEL_API, JOURNAL, WORKERS, ACTORS, KAFKA)
        .should()
        .dependOnClassesThat()
        .resideInAPackage(MONITOR)
        .check(classes);
  }

  @Test
  void theGrpcApiIsTheProtocolsOwnAndOnlyTheNodeServesIt() {
    // the generated messages and service interface: no rendezvous type in them, and only the node
    // (which serves them) and the bench (a client of them) see them
    noClasses()
        .that()
        .resideInAPackage(GRPC)
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            CONFIG, MODEL_API, JOURNAL, WORKERS, ACTORS, KAFKA, MONITOR, NODE, BENCH)
        .check(classes);
    noClasses()
        .that()
        .resideInAnyPackage(CONFIG, MODEL_API, JOURNAL, WORKERS, ACTORS, KAFKA, MONITOR)
        .should()
        .dependOnClassesThat()
        .resideInAPackage(GRPC)
        .check(classes);
  }

  @Test
  void kafkaDoesNotReachIntoTheNodeOrHttp() {
    noClasses()
        .that()
        .resideInAPackage(KAFKA)
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(NODE, BENCH, PEKKO_HTTP)
        .check(classes);
  }

  @Test
  void onlyTheKafkaModuleUsesKafkaClientsInProduction() {
    // the bench is a client of the server like kcat: it produces requests and reads answers
    noClasses()
        .that()
        .resideOutsideOfPackages(KAFKA, BENCH)
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(KAFKA_CLIENTS)
        .check(classes);
  }

  @Test
  void nothingInProductionDependsOnTheBench() {
    noClasses()
        .that()
        .resideOutsideOfPackage(BENCH)
        .should()
        .dependOnClassesThat()
        .resideInAPackage(BENCH)
        .check(classes);
  }

  @Test
  void theLayeringRulesThemselvesCatchAWrongWayDependency() {
    // guard against vacuous rules: these dependencies exist, so the same rule shapes must fail
    assertThrows(
        AssertionError.class,
        () ->
            noClasses()
                .that()
                .resideInAPackage(NODE)
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage(ACTORS)
                .check(classes));
    assertThrows(
        AssertionError.class,
        () ->
            noClasses()
                .that()
                .resideOutsideOfPackages(BENCH)
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage(KAFKA_CLIENTS)
                .check(classes));
    assertThrows(
        AssertionError.class,
        () ->
            noClasses()
                .that()
                .resideInAPackage(BENCH)
                .should()
                .dependOnClassesThat()
                .resideInAPackage(NODE)
                .check(classes));
  }
}

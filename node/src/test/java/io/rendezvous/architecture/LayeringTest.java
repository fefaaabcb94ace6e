package io.rendezvous.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Modules depend one way: cluster-config <- model-workers <- actors <- node. */
class LayeringTest {
  static JavaClasses classes;

  @BeforeAll
  static void importClasses() {
    classes =
        new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("io.rendezvous");
  }

  @Test
  void configDependsOnNoOtherModule() {
    noClasses()
        .that()
        .resideInAPackage("io.rendezvous.config..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            "io.rendezvous.workers..", "io.rendezvous.actors..", "io.rendezvous.node..")
        .check(classes);
  }

  @Test
  void modelWorkersKnowNothingOfActorsNodeHttpOrSharding() {
    noClasses()
        .that()
        .resideInAPackage("io.rendezvous.workers..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            "io.rendezvous.actors..",
            "io.rendezvous.node..",
            "org.apache.pekko.http..",
            "org.apache.pekko.cluster.sharding..",
            "org.apache.kafka..")
        .check(classes);
  }

  @Test
  void actorsDoNotReachIntoTheNodeOrHttp() {
    noClasses()
        .that()
        .resideInAPackage("io.rendezvous.actors..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("io.rendezvous.node..", "org.apache.pekko.http..")
        .check(classes);
  }

  @Test
  void theLayeringRuleItselfCatchesAWrongWayDependency() {
    // guard against a vacuous rule: node does depend on actors, so the same rule shape must fail
    // there
    org.junit.jupiter.api.Assertions.assertThrows(
        AssertionError.class,
        () ->
            noClasses()
                .that()
                .resideInAPackage("io.rendezvous.node..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage("io.rendezvous.actors..")
                .check(classes));
  }
}

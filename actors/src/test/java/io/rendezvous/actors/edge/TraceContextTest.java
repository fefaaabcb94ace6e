package io.rendezvous.actors.edge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The W3C traceparent of a request: continued when the caller sent a valid one, else new. */
class TraceContextTest {
  static final String CALLER = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  static final String FORMAT = "00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}";

  @Test
  void aCallersTraceIsContinuedInASpanOfOurOwn() {
    String ours = TraceContext.continueOrStart(CALLER);
    assertTrue(ours.matches(FORMAT), ours);
    assertEquals("4bf92f3577b34da6a3ce929d0e0e4736", TraceContext.traceId(ours));
    assertNotEquals("00f067aa0ba902b7", ours.substring(36, 52));
    assertTrue(ours.endsWith("-01"), "the caller's flags are kept: " + ours);
    // a later version's extra fields are ignored, its known ones kept
    assertEquals(
        "4bf92f3577b34da6a3ce929d0e0e4736",
        TraceContext.traceId(TraceContext.continueOrStart(CALLER.replace("00-", "01-") + "-xyz")));
  }

  @Test
  void anAbsentOrInvalidOneStartsANewTrace() {
    for (String bad :
        new String[] {
          null,
          "",
          "garbage",
          "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
          "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
          "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
          "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
          CALLER + "-extra"
        }) {
      String ours = TraceContext.continueOrStart(bad);
      assertTrue(ours.matches(FORMAT), ours);
      assertNotEquals("4bf92f3577b34da6a3ce929d0e0e4736", TraceContext.traceId(ours), bad);
      assertTrue(ours.endsWith("-00"), "a trace of our own is not sampled: " + ours);
    }
    assertNotEquals(TraceContext.continueOrStart(null), TraceContext.continueOrStart(null));
  }
}

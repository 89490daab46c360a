package dev.kreorg.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kreorg.agent.ControlState.Change;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ControlStateTest {
  final ControlState state = new ControlState();
  long offset;

  Change lease(String op, String run, long leaseMs, Long epoch, long time) {
    String json = "{\"v\":1,\"type\":\"lease\",\"op\":\"" + op + "\",\"topic\":\"t\",\"runId\":\"" + run + "\",\"host\":\"h\",\"pid\":1,\"leaseMs\":" + leaseMs
        + (epoch != null ? ",\"epoch\":" + epoch : "") + ",\"at\":1}";
    return state.apply(ControlCodec.decode("lease/t", json.getBytes(StandardCharsets.UTF_8), null), offset++, time);
  }

  Change cmd(String action, String run, long epoch, long time) {
    String json = "{\"v\":1,\"type\":\"cmd\",\"action\":\"" + action + "\",\"topic\":\"t\",\"runId\":\"" + run + "\",\"epoch\":" + epoch + ",\"at\":1}";
    return state.apply(ControlCodec.decode("cmd/t", json.getBytes(StandardCharsets.UTF_8), null), offset++, time);
  }

  @Test
  void firstValidClaimWinsAndRenewalsAreContinuous() {
    assertTrue(lease("claim", "a", 100, null, 1000).leaseOutcome().granted());
    Change refused = lease("claim", "b", 100, null, 1050);
    assertFalse(refused.leaseOutcome().granted());
    assertEquals("a", refused.leaseOutcome().holder().runId());
    Change renew = lease("renew", "a", 100, null, 1090);
    assertTrue(renew.leaseOutcome().continuous());
    assertEquals(1190, state.holder("t").expiresAt());
    assertEquals(1000, state.holder("t").acquiredAt());
    // Lapsed: a renewal is granted but not continuous; another run may claim once it lapsed.
    Change late = lease("renew", "a", 100, null, 1300);
    assertTrue(late.leaseOutcome().granted());
    assertFalse(late.leaseOutcome().continuous());
    assertTrue(lease("claim", "b", 100, null, 1500).leaseOutcome().granted());
    assertFalse(lease("release", "a", 0, null, 1510).leaseOutcome().granted());
    assertTrue(lease("release", "b", 0, null, 1520).leaseOutcome().granted());
    assertNull(state.holder("t"));
  }

  @Test
  void commandsAreAuthorizedAtTheirLogPosition() {
    assertFalse(cmd("pause", "a", 1, 900).command().authorized());
    lease("claim", "a", 100, null, 1000);
    assertTrue(cmd("pause", "a", 1, 1050).command().authorized());
    assertFalse(cmd("pause", "b", 1, 1060).command().authorized());
    assertFalse(cmd("pause", "a", 1, 1200).command().authorized(), "lease lapsed at 1100");
    assertEquals(1200, state.command("t").timestamp());
  }

  @Test
  void fencingStaleCommandEpochsAndLeaseEpochs() {
    lease("claim", "a", 1000, 3L, 1000);
    assertFalse(cmd("pause", "a", 3, 1001).command().stale());
    assertTrue(cmd("resume", "a", 2, 1002).command().stale());
    assertFalse(cmd("resume", "a", 3, 1003).command().stale(), "same epoch re-published: idempotent");
    assertFalse(cmd("pause", "b", 1, 1004).command().stale(), "epochs are per run");
    assertFalse(lease("renew", "a", 1000, 2L, 1005).leaseOutcome().granted(), "lower lease epoch than the run's latest granted claim");
    assertTrue(lease("renew", "a", 1000, 3L, 1006).leaseOutcome().granted());
    assertTrue(lease("renew", "a", 1000, null, 1007).leaseOutcome().granted(), "records without an epoch are not fenced");
  }

  @Test
  void badRecordsOnlyAdvanceTheOffset() {
    assertNull(state.apply(ControlCodec.decode("cmd/t", "junk".getBytes(StandardCharsets.UTF_8), null), 41, 1));
    assertEquals(41, state.lastOffset());
  }
}

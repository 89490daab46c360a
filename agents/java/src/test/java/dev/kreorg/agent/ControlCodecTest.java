package dev.kreorg.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kreorg.agent.ControlCodec.Decoded;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ControlCodecTest {
  static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static final String PAUSE = "{\"v\":1,\"type\":\"cmd\",\"action\":\"pause\",\"topic\":\"orders\",\"runId\":\"r1\",\"epoch\":1,\"leaseExpiresAt\":5,\"at\":1,\"extra\":{\"x\":1}}";

  @Test
  void decodesAValidCommandAndIgnoresUnknownFields() {
    Decoded d = ControlCodec.decode("cmd/orders", b(PAUSE), null);
    assertTrue(d.ok(), d.reason());
    ControlCodec.Command c = ControlCodec.Command.of(d.message());
    assertEquals("pause", c.action());
    assertEquals(5L, c.leaseExpiresAt());
    assertNull(c.pinPartitions());
  }

  @Test
  void rejectsBadRecordsWithoutThrowing() {
    assertFalse(ControlCodec.decode("cmd/orders", b("not json"), null).ok());
    assertFalse(ControlCodec.decode("cmd/orders", b("[1]"), null).ok());
    assertFalse(ControlCodec.decode("cmd/orders", b(PAUSE.replace("\"v\":1", "\"v\":2")), null).ok());
    assertFalse(ControlCodec.decode("cmd/other", b(PAUSE), null).ok(), "topic must match the key");
    assertFalse(ControlCodec.decode("cmd/orders", b(PAUSE.replace("\"pause\"", "\"explode\"")), null).ok());
    assertFalse(ControlCodec.decode("cmd/orders", b(PAUSE.replace("\"epoch\":1", "\"epoch\":-1")), null).ok());
    assertFalse(ControlCodec.decode("cmd/orders", b(PAUSE.replace("\"leaseExpiresAt\":5", "\"leaseExpiresAt\":null")), null).ok());
    assertFalse(ControlCodec.decode("lease/orders", b(PAUSE), null).ok(), "type must match the key");
    assertFalse(ControlCodec.decode("nope/orders", b(PAUSE), null).ok());
    assertFalse(ControlCodec.decode("run/x", b("{}"), null).ok());
    assertFalse(ControlCodec.decode(null, b(PAUSE), null).ok());
    Decoded tombstone = ControlCodec.decode("agent/a1", null, null);
    assertTrue(tombstone.ok());
    assertNull(tombstone.message());
  }

  @Test
  void withASecretOnlySignedRecordsPass() throws Exception {
    assertEquals("cmd/orders: unsigned (a secret is set)", ControlCodec.decode("cmd/orders", b(PAUSE), "s").reason());
    byte[] signed = ControlCodec.encode("cmd/orders", CanonicalJsonTest.parse(PAUSE), "s");
    assertTrue(ControlCodec.decode("cmd/orders", signed, "s").ok());
    assertEquals("cmd/orders: bad signature (a secret is set)", ControlCodec.decode("cmd/orders", signed, "other").reason());
    // A signed record replayed under another key fails too.
    assertFalse(ControlCodec.decode("cmd/orders", ControlCodec.encode("cmd/orders", CanonicalJsonTest.parse(PAUSE.replace("orders", "x")), "s"), "s").ok());
  }

  @Test
  void protocol11PinActionAndLeaseEpoch() {
    assertTrue(ControlCodec.decode("cmd/orders", b(PAUSE.replace("\"pause\"", "\"pin\"").replace("\"at\":1", "\"at\":1,\"pinPartitions\":12")), null).ok());
    assertTrue(ControlCodec.decode("lease/orders",
        b("{\"v\":1,\"type\":\"lease\",\"op\":\"claim\",\"topic\":\"orders\",\"runId\":\"r\",\"host\":\"h\",\"pid\":1,\"leaseMs\":100,\"epoch\":2,\"at\":1}"), null).ok());
  }
}

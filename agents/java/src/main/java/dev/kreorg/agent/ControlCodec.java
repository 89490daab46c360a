package dev.kreorg.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Keys, schemas and signature checks of control records (protocol v1 + 1.1), mirroring
 * src/control/schema.ts and codec.ts. Decoding never throws: a bad record comes back with a reason.
 */
public final class ControlCodec {
  public static final int PROTOCOL_VERSION = 1;
  static final Pattern TOPIC = Pattern.compile("^[a-zA-Z0-9._-]{1,249}$");
  static final Pattern AGENT_ID = Pattern.compile("^[a-zA-Z0-9._:-]{1,200}$");
  static final Set<String> ACTIONS = Set.of("pause", "refresh", "resume", "pin");
  static final Set<String> ACK_STATES = Set.of("paused", "refreshed", "resumed", "pinned");
  static final Set<String> LEASE_OPS = Set.of("claim", "renew", "release");
  static final Set<String> TOPIC_STATES = Set.of("starting", "running", "paused");

  private ControlCodec() {}

  public enum Kind { CMD, LEASE, ACK, AGENT }

  /** A parsed key: {@code cmd/<topic>}, {@code lease/<topic>}, {@code ack/<topic>/<agentId>}, {@code agent/<agentId>}. */
  public record Key(Kind kind, String topic, String agentId) {}

  public static String cmdKey(String topic) { return "cmd/" + topic; }
  public static String leaseKey(String topic) { return "lease/" + topic; }
  public static String ackKey(String topic, String agentId) { return "ack/" + topic + "/" + agentId; }
  public static String agentKey(String agentId) { return "agent/" + agentId; }

  public static Key parseKey(String key) {
    String[] parts = key.split("/", -1);
    String kind = parts[0];
    if (kind.equals("cmd") && parts.length == 2 && !parts[1].isEmpty()) return new Key(Kind.CMD, parts[1], null);
    if (kind.equals("lease") && parts.length == 2 && !parts[1].isEmpty()) return new Key(Kind.LEASE, parts[1], null);
    if (kind.equals("ack") && parts.length == 3 && !parts[1].isEmpty() && !parts[2].isEmpty()) return new Key(Kind.ACK, parts[1], parts[2]);
    if (kind.equals("agent") && parts.length == 2 && !parts[1].isEmpty()) return new Key(Kind.AGENT, null, parts[1]);
    return null;
  }

  /** Result of decoding: {@code ok} with a key and a message (null for a tombstone), or a reason. */
  public record Decoded(boolean ok, Key key, ObjectNode message, String reason) {
    static Decoded fail(String reason) { return new Decoded(false, null, null, reason); }
  }

  public static byte[] encode(String key, ObjectNode message, String secret) {
    ObjectNode body = message.deepCopy();
    body.remove("sig");
    if (secret != null && !secret.isEmpty()) body.put("sig", Signing.sign(key, body, secret));
    try {
      return Json.MAPPER.writeValueAsBytes(body);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  public static Decoded decode(String rawKey, byte[] value, String secret) {
    if (rawKey == null || rawKey.isEmpty()) return Decoded.fail("record without a key");
    if (rawKey.startsWith("run/")) return Decoded.fail(clip(rawKey) + ": run state record (not read by the pause protocol)");
    Key key = parseKey(rawKey);
    if (key == null) return Decoded.fail("unknown key \"" + clip(rawKey) + "\"");
    if (value == null) return new Decoded(true, key, null, null);
    JsonNode parsed;
    try {
      parsed = Json.MAPPER.readTree(new String(value, StandardCharsets.UTF_8));
    } catch (Exception e) {
      return Decoded.fail(rawKey + ": value is not JSON");
    }
    if (parsed == null || !parsed.isObject()) return Decoded.fail(rawKey + ": value is not a JSON object");
    ObjectNode message = (ObjectNode) parsed;
    Long version = Json.integer(message.get("v"));
    if (version == null || version != PROTOCOL_VERSION) return Decoded.fail(rawKey + ": unsupported protocol version " + clip(String.valueOf(message.get("v"))));
    String problem = validate(key, message);
    if (problem != null) return Decoded.fail(rawKey + ": invalid " + problem);
    JsonNode topic = message.get("topic");
    if (topic != null && key.kind() != Kind.AGENT && !topic.textValue().equals(key.topic())) return Decoded.fail(rawKey + ": topic field does not match the key");
    if ((key.kind() == Kind.ACK || key.kind() == Kind.AGENT) && !message.get("agentId").textValue().equals(key.agentId())) {
      return Decoded.fail(rawKey + ": agentId does not match the key");
    }
    if (secret != null && !secret.isEmpty() && !Signing.verify(rawKey, message, secret)) {
      return Decoded.fail(rawKey + ": " + (message.has("sig") ? "bad signature" : "unsigned") + " (a secret is set)");
    }
    return new Decoded(true, key, message, null);
  }

  private static String clip(String s) {
    return s.length() > 100 ? s.substring(0, 100) : s;
  }

  // ---- schemas (src/control/schema.ts plus PROTOCOL-1.1: pin action, pinned ack state, lease epoch) ----

  private static final class Check {
    final ObjectNode m;
    String problem;

    Check(ObjectNode m) { this.m = m; }

    private boolean fail(String field, String why) {
      if (problem == null) problem = field + ": " + why;
      return false;
    }

    /** zod's optional(): absent is fine, null is not. */
    private JsonNode field(String name, boolean required) {
      JsonNode node = m.get(name);
      if (node == null) {
        if (required) fail(name, "Required");
        return null;
      }
      return node;
    }

    void literal(String name, String expected) {
      JsonNode node = field(name, true);
      if (node != null && !(node.isTextual() && node.textValue().equals(expected))) fail(name, "expected \"" + expected + "\"");
    }

    void oneOf(String name, Set<String> allowed, boolean required) {
      JsonNode node = field(name, required);
      if (node != null && !(node.isTextual() && allowed.contains(node.textValue()))) fail(name, "expected one of " + allowed);
    }

    void string(String name, int min, int max, Pattern pattern, boolean required) {
      JsonNode node = field(name, required);
      if (node == null) return;
      if (!node.isTextual()) { fail(name, "expected string"); return; }
      int length = node.textValue().length();
      if (length < min || length > max) fail(name, "length out of range");
      else if (pattern != null && !pattern.matcher(node.textValue()).matches()) fail(name, "invalid format");
    }

    void integer(String name, long min, boolean required) {
      JsonNode node = field(name, required);
      if (node == null) return;
      Long value = Json.integer(node);
      if (value == null) fail(name, "expected integer");
      else if (value < min) fail(name, "too small");
    }

    void stringArray(String name, int maxItems, int maxLength, Pattern pattern, boolean required) {
      JsonNode node = field(name, required);
      if (node == null) return;
      if (!node.isArray() || node.size() > maxItems) { fail(name, "expected array of at most " + maxItems); return; }
      for (JsonNode item : node) {
        if (!item.isTextual() || item.textValue().length() > maxLength || (pattern != null && !pattern.matcher(item.textValue()).matches())) {
          fail(name, "invalid item");
          return;
        }
      }
    }

    void intRecord(String name, boolean required) {
      JsonNode node = field(name, required);
      if (node == null) return;
      if (!node.isObject()) { fail(name, "expected object"); return; }
      for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
        Long value = Json.integer(it.next().getValue());
        if (value == null || value < 0) { fail(name, "expected non-negative integers"); return; }
      }
    }
  }

  static final long NO_MIN = Long.MIN_VALUE;

  /** Returns null when the message fits the schema of its key, else "field: problem". */
  static String validate(Key key, ObjectNode m) {
    Check c = new Check(m);
    JsonNode sig = m.get("sig");
    if (sig != null && !sig.isTextual()) return "sig: expected string";
    switch (key.kind()) {
      case LEASE -> {
        c.literal("type", "lease");
        c.oneOf("op", LEASE_OPS, true);
        c.string("topic", 0, Integer.MAX_VALUE, TOPIC, true);
        c.string("runId", 1, 200, null, true);
        c.string("host", 0, 255, null, true);
        c.integer("pid", NO_MIN, true);
        c.integer("leaseMs", 0, true);
        c.integer("at", 0, true);
        c.integer("epoch", 0, false);
      }
      case CMD -> {
        c.literal("type", "cmd");
        c.oneOf("action", ACTIONS, true);
        c.string("topic", 0, Integer.MAX_VALUE, TOPIC, true);
        c.string("runId", 1, 200, null, true);
        c.integer("epoch", 0, true);
        c.integer("leaseExpiresAt", 0, false);
        c.integer("targetPartitions", 1, false);
        c.stringArray("canaryKeys", 1000, 1024, null, false);
        c.integer("pinPartitions", 1, false);
        c.integer("at", 0, true);
      }
      case ACK -> {
        c.literal("type", "ack");
        c.string("topic", 0, Integer.MAX_VALUE, TOPIC, true);
        c.string("agentId", 0, Integer.MAX_VALUE, AGENT_ID, true);
        c.oneOf("state", ACK_STATES, true);
        c.string("runId", 1, 200, null, true);
        c.integer("epoch", 0, true);
        c.integer("partitionCount", 0, true);
        c.intRecord("canary", false);
        c.string("partitioner", 0, 100, null, false);
        c.string("warning", 0, 2000, null, false);
        c.integer("at", 0, true);
      }
      case AGENT -> {
        c.literal("type", "agent");
        c.string("agentId", 0, Integer.MAX_VALUE, AGENT_ID, true);
        c.string("host", 0, 255, null, true);
        c.integer("pid", NO_MIN, true);
        c.string("clientId", 0, 255, null, false);
        c.stringArray("topics", 10_000, 249, TOPIC, true);
        c.string("version", 0, 50, null, true);
        c.string("partitioner", 0, 100, null, true);
        c.integer("heartbeatMs", 0, true);
        c.integer("startedAt", 0, true);
        c.integer("at", 0, true);
        JsonNode states = m.get("states");
        if (states == null || !states.isObject()) c.fail("states", "expected object");
      }
    }
    return c.problem;
  }

  // ---- typed views ----

  /** A {@code cmd/<topic>} record. */
  public record Command(String action, String topic, String runId, long epoch, Long leaseExpiresAt, Integer targetPartitions,
      List<String> canaryKeys, Integer pinPartitions, long at) {
    static Command of(ObjectNode m) {
      List<String> canary = null;
      if (m.has("canaryKeys")) {
        canary = new ArrayList<>();
        for (JsonNode k : m.get("canaryKeys")) canary.add(k.textValue());
      }
      return new Command(m.get("action").textValue(), m.get("topic").textValue(), m.get("runId").textValue(), Json.integer(m.get("epoch")),
          optLong(m, "leaseExpiresAt"), optInt(m, "targetPartitions"), canary, optInt(m, "pinPartitions"), Json.integer(m.get("at")));
    }
  }

  /** A {@code lease/<topic>} record. */
  public record Lease(String op, String topic, String runId, String host, long pid, long leaseMs, Long epoch, long at) {
    static Lease of(ObjectNode m) {
      return new Lease(m.get("op").textValue(), m.get("topic").textValue(), m.get("runId").textValue(), m.get("host").textValue(),
          Json.integer(m.get("pid")), Json.integer(m.get("leaseMs")), optLong(m, "epoch"), Json.integer(m.get("at")));
    }
  }

  static Long optLong(ObjectNode m, String name) {
    return m.has(name) ? Json.integer(m.get(name)) : null;
  }

  static Integer optInt(ObjectNode m, String name) {
    Long v = optLong(m, name);
    return v == null ? null : (int) Math.min(Integer.MAX_VALUE, v);
  }
}

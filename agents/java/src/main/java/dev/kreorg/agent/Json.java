package dev.kreorg.agent;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** Shared Jackson mapper and small accessors with the reference schema's (zod) rules. */
final class Json {
  static final ObjectMapper MAPPER = new ObjectMapper().configure(DeserializationFeature.FAIL_ON_TRAILING_TOKENS, true);

  private Json() {}

  static ObjectNode object() {
    return MAPPER.createObjectNode();
  }

  /** An integral number (1.0 counts, like JavaScript), else null. */
  static Long integer(JsonNode node) {
    if (node == null || !node.isNumber()) return null;
    if (node.isIntegralNumber()) return node.canConvertToLong() ? node.longValue() : null;
    double d = node.doubleValue();
    if (Double.isFinite(d) && d == Math.rint(d) && Math.abs(d) <= 9.007199254740991E15) return (long) d;
    return null;
  }
}

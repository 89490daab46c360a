package dev.kreorg.agent;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * The bytes both sides sign: JSON with object keys sorted by UTF-16 code unit at every level, no
 * whitespace, written exactly like JavaScript's {@code JSON.stringify} (the reference codec,
 * src/control/codec.ts {@code canonicalJson}) writes strings and numbers.
 */
public final class CanonicalJson {
  private CanonicalJson() {}

  public static String of(JsonNode node) {
    StringBuilder out = new StringBuilder();
    write(node, out);
    return out.toString();
  }

  private static void write(JsonNode node, StringBuilder out) {
    if (node == null || node.isNull() || node.isMissingNode()) {
      out.append("null");
    } else if (node.isObject()) {
      List<String> names = new ArrayList<>();
      for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) names.add(it.next());
      // String.compareTo compares UTF-16 code units, like JavaScript's `<` on strings.
      names.sort(String::compareTo);
      out.append('{');
      boolean first = true;
      for (String name : names) {
        if (!first) out.append(',');
        first = false;
        string(name, out);
        out.append(':');
        write(node.get(name), out);
      }
      out.append('}');
    } else if (node.isArray()) {
      out.append('[');
      for (int i = 0; i < node.size(); i++) {
        if (i > 0) out.append(',');
        write(node.get(i), out);
      }
      out.append(']');
    } else if (node.isTextual()) {
      string(node.textValue(), out);
    } else if (node.isBoolean()) {
      out.append(node.booleanValue());
    } else if (node.isIntegralNumber()) {
      BigInteger value = node.bigIntegerValue();
      // JavaScript holds every number as a double: beyond 2^53 it prints the double's digits.
      if (value.abs().bitLength() <= 53) out.append(value);
      else out.append(number(value.doubleValue()));
    } else if (node.isNumber()) {
      out.append(number(node.doubleValue()));
    } else {
      out.append(node.toString());
    }
  }

  /** {@code JSON.stringify} of a string: escapes quote, backslash, control characters and lone surrogates only. */
  public static void string(String s, StringBuilder out) {
    out.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\b' -> out.append("\\b");
        case '\f' -> out.append("\\f");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> {
          if (c < 0x20) {
            hex(c, out);
          } else if (Character.isHighSurrogate(c)) {
            if (i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
              out.append(c).append(s.charAt(++i));
            } else {
              hex(c, out);
            }
          } else if (Character.isLowSurrogate(c)) {
            hex(c, out);
          } else {
            out.append(c);
          }
        }
      }
    }
    out.append('"');
  }

  private static void hex(char c, StringBuilder out) {
    out.append("\\u").append(String.format("%04x", (int) c));
  }

  /** JavaScript's Number.prototype.toString for finite doubles (JSON.stringify writes null for NaN and infinities). */
  public static String number(double d) {
    if (Double.isNaN(d) || Double.isInfinite(d)) return "null";
    if (d == 0) return "0";
    String sign = d < 0 ? "-" : "";
    BigDecimal bd = new BigDecimal(Double.toString(Math.abs(d))).stripTrailingZeros();
    String digits = bd.unscaledValue().toString();
    int k = digits.length();
    int n = k - bd.scale();
    String body;
    if (k <= n && n <= 21) {
      body = digits + "0".repeat(n - k);
    } else if (0 < n && n <= 21) {
      body = digits.substring(0, n) + "." + digits.substring(n);
    } else if (-6 < n && n <= 0) {
      body = "0." + "0".repeat(-n) + digits;
    } else {
      int e = n - 1;
      String exp = "e" + (e >= 0 ? "+" : "-") + Math.abs(e);
      body = k == 1 ? digits + exp : digits.charAt(0) + "." + digits.substring(1) + exp;
    }
    return sign + body;
  }
}

package dev.kreorg.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/** {@code sig = "hmac-sha256:" + hex(HMAC-SHA256(secret, key + "\n" + canonical_json(value without "sig")))}. */
public final class Signing {
  public static final String PREFIX = "hmac-sha256:";

  private Signing() {}

  public static String sign(String key, JsonNode message, String secret) {
    ObjectNode unsigned = ((ObjectNode) message).deepCopy();
    unsigned.remove("sig");
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      byte[] digest = mac.doFinal((key + "\n" + CanonicalJson.of(unsigned)).getBytes(StandardCharsets.UTF_8));
      StringBuilder hex = new StringBuilder(PREFIX);
      for (byte b : digest) hex.append(String.format("%02x", b & 0xff));
      return hex.toString();
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 unavailable", e);
    }
  }

  public static boolean verify(String key, JsonNode message, String secret) {
    JsonNode given = message.get("sig");
    if (given == null || !given.isTextual() || !given.textValue().startsWith(PREFIX)) return false;
    byte[] expected = sign(key, message, secret).getBytes(StandardCharsets.UTF_8);
    return MessageDigest.isEqual(expected, given.textValue().getBytes(StandardCharsets.UTF_8));
  }
}

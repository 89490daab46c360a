package dev.kreorg.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

/** Vectors produced by the TypeScript codec (dist/src/control/codec.js canonicalJson / sign) with node. */
class CanonicalJsonTest {
  static ObjectNode parse(String json) throws Exception {
    return (ObjectNode) Json.MAPPER.readTree(json);
  }

  @Test
  void commandVectorMatchesTheTypeScriptCodec() throws Exception {
    ObjectNode cmd = parse("{\"v\":1,\"type\":\"cmd\",\"action\":\"refresh\",\"topic\":\"orders\",\"runId\":\"run-1\",\"epoch\":3,"
        + "\"leaseExpiresAt\":1736244200000,\"targetPartitions\":16,\"canaryKeys\":[\"customer-1\",\"customer-2\"],\"pinPartitions\":12,\"at\":1736244000500}");
    assertEquals("{\"action\":\"refresh\",\"at\":1736244000500,\"canaryKeys\":[\"customer-1\",\"customer-2\"],\"epoch\":3,\"leaseExpiresAt\":1736244200000,"
        + "\"pinPartitions\":12,\"runId\":\"run-1\",\"targetPartitions\":16,\"topic\":\"orders\",\"type\":\"cmd\",\"v\":1}", CanonicalJson.of(cmd));
    assertEquals("hmac-sha256:2dd1fabb6f834c553e61fc71b7500a8d236efac88b0039cbc7857e8e9cd59c1e", Signing.sign("cmd/orders", cmd, "s3cret"));
  }

  @Test
  void stringsNumbersAndKeyOrderMatchJsonStringify() throws Exception {
    // node: canonicalJson({z:{b:[1,{y:null,x:'é"\\\n\u0001\u2028😀'}],a:true},A:-5.5,'é':1,Z:'x',e:1e21,f:0.1})
    ObjectNode value = parse("{\"z\":{\"b\":[1,{\"y\":null,\"x\":\"é\\\"\\\\\\n\\u0001\\u2028😀\"}],\"a\":true},\"A\":-5.5,\"é\":1,\"Z\":\"x\",\"e\":1e21,\"f\":0.1}");
    String expected = "{\"A\":-5.5,\"Z\":\"x\",\"e\":1e+21,\"f\":0.1,\"z\":{\"a\":true,\"b\":[1,{\"x\":\"é\\\"\\\\\\n\\u0001\u2028😀\",\"y\":null}]},\"é\":1}";
    assertEquals(expected, CanonicalJson.of(value));
    assertEquals("hmac-sha256:34943c18f5f7c0e9428f467fd7e4e895cd1d2fc5ad47f2f27fff90e2b9bd382c", Signing.sign("ack/orders/a1", value, "k"));
  }

  @Test
  void numbersPrintLikeJavaScript() {
    assertEquals("1", CanonicalJson.number(1.0));
    assertEquals("0.000001", CanonicalJson.number(0.000001));
    assertEquals("1e-7", CanonicalJson.number(1e-7));
    assertEquals("123456789012345680000", CanonicalJson.number(123456789012345680000.0));
    assertEquals("1.5e+300", CanonicalJson.number(1.5e300));
    assertEquals("-0.5", CanonicalJson.number(-0.5));
  }

  @Test
  void signatureCoversTheKeyAndIgnoresSig() throws Exception {
    ObjectNode cmd = parse("{\"v\":1,\"type\":\"cmd\",\"action\":\"pause\",\"topic\":\"orders\",\"runId\":\"r\",\"epoch\":1,\"at\":1}");
    String sig = Signing.sign("cmd/orders", cmd, "s");
    cmd.put("sig", sig);
    assertTrue(Signing.verify("cmd/orders", cmd, "s"));
    assertEquals(sig, Signing.sign("cmd/orders", cmd, "s"));
    assertFalse(Signing.verify("cmd/other", cmd, "s"));
    assertFalse(Signing.verify("cmd/orders", cmd, "wrong"));
  }
}

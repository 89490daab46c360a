package dev.kreorg.agent;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/** An in-memory control topic: records the test appends are folded by the agent like records read from Kafka. */
class FakeControlIo implements ControlIo {
  final List<Raw> log = new ArrayList<>();
  final LinkedBlockingQueue<ObjectNode> acks = new LinkedBlockingQueue<>();
  final LinkedBlockingQueue<String> heartbeats = new LinkedBlockingQueue<>();
  final Map<String, Integer> partitions = new HashMap<>();
  final String secret;
  Consumer<Raw> reader;

  FakeControlIo(String secret) {
    this.secret = secret;
  }

  synchronized void append(String key, String json) {
    byte[] value = json == null ? null : json.getBytes(StandardCharsets.UTF_8);
    Raw raw = new Raw(key, value, log.size(), System.currentTimeMillis());
    log.add(raw);
    if (reader != null) reader.accept(raw);
  }

  /** Appends a record signed with the fake's secret (if any). */
  void appendMessage(String key, String json) throws Exception {
    ObjectNode node = (ObjectNode) Json.MAPPER.readTree(json);
    append(key, new String(ControlCodec.encode(key, node, secret), StandardCharsets.UTF_8));
  }

  ObjectNode nextAck(long timeoutMs) throws InterruptedException {
    return acks.poll(timeoutMs, TimeUnit.MILLISECONDS);
  }

  @Override
  public synchronized void start(Consumer<Raw> onRecord) {
    for (Raw raw : log) onRecord.accept(raw);
    reader = onRecord;
  }

  @Override
  public void appendControl(String key, byte[] value) throws Exception {
    acks.add((ObjectNode) Json.MAPPER.readTree(value));
    synchronized (this) {
      Raw raw = new Raw(key, value, log.size(), System.currentTimeMillis());
      log.add(raw);
      if (reader != null) reader.accept(raw);
    }
  }

  @Override
  public void appendHeartbeat(String key, byte[] value) {
    heartbeats.add(value == null ? "TOMBSTONE " + key : new String(value, StandardCharsets.UTF_8));
  }

  @Override
  public synchronized int partitionCount(String topic) {
    return partitions.getOrDefault(topic, 0);
  }

  synchronized void setPartitions(String topic, int count) {
    partitions.put(topic, count);
  }

  @Override
  public Map<Integer, Long> lastStableOffsets(String topic) {
    Map<Integer, Long> all = new HashMap<>();
    for (int p = 0; p < 64; p++) all.put(p, Long.MAX_VALUE);
    return all;
  }

  @Override
  public void close() {}
}

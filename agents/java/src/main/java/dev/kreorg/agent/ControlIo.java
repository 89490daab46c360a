package dev.kreorg.agent;

import java.util.Map;
import java.util.function.Consumer;

/** Kafka I/O the agent needs (control topic, heartbeat topic, admin look-ups); an interface so the logic is testable without a broker. */
interface ControlIo extends AutoCloseable {
  /** One record of the control topic, in log order. */
  record Raw(String key, byte[] value, long offset, long timestamp) {}

  /** Creates the control and heartbeat topics if missing, then tails the control topic from the beginning; returns once caught up. */
  void start(Consumer<Raw> onRecord) throws Exception;

  /** Appends to the control topic (partition 0, acks=all), synchronously. */
  void appendControl(String key, byte[] value) throws Exception;

  /** Appends to the heartbeat topic, synchronously. */
  void appendHeartbeat(String key, byte[] value) throws Exception;

  /** The topic's partition count from fresh cluster metadata (0 when the topic does not exist). */
  int partitionCount(String topic) throws Exception;

  /** partition → last stable offset (read_committed end offset). */
  Map<Integer, Long> lastStableOffsets(String topic) throws Exception;

  @Override
  void close();
}

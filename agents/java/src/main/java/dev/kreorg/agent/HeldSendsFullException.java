package dev.kreorg.agent;

import org.apache.kafka.common.KafkaException;

/** A send made while the topic is paused and {@code maxHeldSends} records are already held: failed fast, never queued. */
public class HeldSendsFullException extends KafkaException {
  public static final String CODE = "HELD_SENDS_FULL";

  public HeldSendsFullException(String message) {
    super(message);
  }
}

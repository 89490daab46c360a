package dev.kreorg.agent;

import dev.kreorg.agent.ControlCodec.Command;
import dev.kreorg.agent.ControlCodec.Decoded;
import dev.kreorg.agent.ControlCodec.Lease;
import java.util.HashMap;
import java.util.Map;

/**
 * The control topic folded record by record in log order: the port of {@code ControlState}
 * (src/control/state.ts) plus PROTOCOL-1.1 fencing (lease epochs, stale command epochs). Pure logic,
 * not thread-safe: callers synchronize.
 */
public final class ControlState {
  /** The lease holder; {@code expiresAt} may be in the past (compare with now). */
  public record Holder(String runId, String host, long pid, long acquiredAt, long expiresAt, long offset) {}

  /** Outcome of one lease record. {@code holder}: the new holder when granted, the one in the way when refused (may be null). */
  public record LeaseOutcome(String op, boolean granted, Holder holder, boolean continuous) {}

  /**
   * A command as folded: {@code authorized} when its run held a valid lease at the command's position,
   * {@code stale} when its epoch is lower than one already seen for the same run and topic (1.1 fencing).
   */
  public record CommandEntry(Command command, long offset, long timestamp, boolean authorized, boolean stale) {}

  /** What one record changed: exactly one of the fields is set. */
  public record Change(String topic, CommandEntry command, Lease lease, LeaseOutcome leaseOutcome) {}

  private final Map<String, Holder> holders = new HashMap<>();
  private final Map<String, CommandEntry> commands = new HashMap<>();
  /** topic → runId → epoch of that run's latest granted claim/renew that carried an epoch. */
  private final Map<String, Map<String, Long>> leaseEpochs = new HashMap<>();
  /** topic → runId → highest command epoch seen. */
  private final Map<String, Map<String, Long>> commandEpochs = new HashMap<>();
  private long lastOffset = -1;

  public long lastOffset() {
    return lastOffset;
  }

  /** Folds one decoded record in; records that failed to decode only advance the offset. */
  public Change apply(Decoded decoded, long offset, long timestamp) {
    if (offset > lastOffset) lastOffset = offset;
    if (!decoded.ok() || decoded.message() == null) return null;
    switch (decoded.key().kind()) {
      case LEASE -> {
        Lease lease = Lease.of(decoded.message());
        LeaseOutcome outcome = applyLease(lease, offset, timestamp);
        return new Change(lease.topic(), null, lease, outcome);
      }
      case CMD -> {
        Command command = Command.of(decoded.message());
        Holder holder = holderAt(command.topic(), timestamp);
        Map<String, Long> epochs = commandEpochs.computeIfAbsent(command.topic(), t -> new HashMap<>());
        Long highest = epochs.get(command.runId());
        boolean stale = highest != null && command.epoch() < highest;
        if (!stale) epochs.put(command.runId(), command.epoch());
        CommandEntry entry = new CommandEntry(command, offset, timestamp, holder != null && holder.runId().equals(command.runId()), stale);
        commands.put(command.topic(), entry);
        return new Change(command.topic(), entry, null, null);
      }
      default -> {
        return null; // acks and heartbeats do not change what an agent does
      }
    }
  }

  /**
   * A claim or renew at time T is granted unless another run's lease is valid at T (or, 1.1, its epoch is
   * below the run's latest granted one); a granted record sets expiresAt = T + leaseMs. It is continuous
   * only if the same run's lease had not lapsed at T. A release by the holder ends the lease.
   */
  private LeaseOutcome applyLease(Lease lease, long offset, long timestamp) {
    Holder current = holders.get(lease.topic());
    boolean currentValid = current != null && current.expiresAt() > timestamp;
    if (lease.op().equals("release")) {
      boolean granted = current != null && current.runId().equals(lease.runId());
      if (granted) holders.remove(lease.topic());
      return new LeaseOutcome("release", granted, null, false);
    }
    if (currentValid && !current.runId().equals(lease.runId())) return new LeaseOutcome(lease.op(), false, current, false);
    Map<String, Long> epochs = leaseEpochs.computeIfAbsent(lease.topic(), t -> new HashMap<>());
    Long latest = epochs.get(lease.runId());
    if (lease.epoch() != null && latest != null && lease.epoch() < latest) return new LeaseOutcome(lease.op(), false, current, false);
    boolean continuous = currentValid && current.runId().equals(lease.runId());
    Holder holder = new Holder(lease.runId(), lease.host(), lease.pid(), continuous ? current.acquiredAt() : timestamp, timestamp + lease.leaseMs(), offset);
    holders.put(lease.topic(), holder);
    if (lease.epoch() != null) epochs.put(lease.runId(), lease.epoch());
    return new LeaseOutcome(lease.op(), true, holder, continuous);
  }

  /** The holder as of the last folded record (it may have expired since). */
  public Holder holder(String topic) {
    return holders.get(topic);
  }

  public Holder holderAt(String topic, long time) {
    Holder holder = holders.get(topic);
    return holder != null && holder.expiresAt() > time ? holder : null;
  }

  public CommandEntry command(String topic) {
    return commands.get(topic);
  }
}

"""The control topic folded into state, record by record, in log order: a port of ControlState in
src/control/state.ts, with protocol 1.1 fencing (lease epochs, stale command epochs). Pure logic.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Dict, Optional

from .codec import Decoded, ack_key

OUTCOME_MEMORY = 10_000


@dataclass
class LeaseHolder:
    run_id: str
    host: str
    pid: int
    acquired_at: int
    expires_at: int
    offset: int


@dataclass
class LeaseOutcome:
    op: str  # claim | renew | release
    granted: bool
    holder: Optional[LeaseHolder] = None  # granted: the new holder; refused: the one in the way
    continuous: bool = False
    reason: str = ""


@dataclass
class CommandEntry:
    offset: int
    timestamp: int
    command: Dict[str, Any]
    #: The command's run held the topic's lease when the command was appended.
    authorized: bool


@dataclass
class Change:
    kind: str  # lease | cmd | stale-cmd | ack | agent
    topic: Optional[str] = None
    agent_id: Optional[str] = None
    outcome: Optional[LeaseOutcome] = None
    lease: Optional[Dict[str, Any]] = None
    entry: Optional[CommandEntry] = None
    #: stale-cmd: the highest epoch already seen for the command's run.
    seen_epoch: Optional[int] = None
    data: Optional[Dict[str, Any]] = None


class ControlState:
    def __init__(self) -> None:
        self._holders: Dict[str, Optional[LeaseHolder]] = {}
        self._commands: Dict[str, CommandEntry] = {}
        self._acks: Dict[str, Dict[str, Any]] = {}
        self._agents: Dict[str, Dict[str, Any]] = {}
        self._outcomes: "OrderedDict[int, LeaseOutcome]" = OrderedDict()
        #: topic -> runId -> epoch of its latest granted claim that carried an epoch (1.1 D)
        self._lease_epochs: Dict[str, Dict[str, int]] = {}
        #: topic -> runId -> highest command epoch seen (1.1 D)
        self._cmd_epochs: Dict[str, Dict[str, int]] = {}
        self.last_offset = -1

    def apply(self, decoded: Decoded, offset: int, timestamp: int) -> Optional[Change]:
        if offset > self.last_offset:
            self.last_offset = offset
        if not decoded.ok or decoded.key is None:
            return None
        key, message = decoded.key, decoded.message
        if key.kind == "lease":
            if not message:
                return None
            outcome = self._apply_lease(message, offset, timestamp)
            self._outcomes[offset] = outcome
            if len(self._outcomes) > OUTCOME_MEMORY:
                self._outcomes.popitem(last=False)
            return Change("lease", topic=key.topic, outcome=outcome, lease=message)
        if key.kind == "cmd":
            if not message:
                return None
            run_id, epoch = message["runId"], int(message["epoch"])
            epochs = self._cmd_epochs.setdefault(key.topic, {})
            seen = epochs.get(run_id)
            holder = self.holder_at(key.topic, timestamp)
            entry = CommandEntry(offset, timestamp, message, holder is not None and holder.run_id == run_id)
            if seen is not None and epoch < seen:
                # A stale command (an orchestrator that slept through a later epoch of the same run):
                # it never becomes the command in force.
                return Change("stale-cmd", topic=key.topic, entry=entry, seen_epoch=seen)
            epochs[run_id] = epoch
            self._commands[key.topic] = entry
            return Change("cmd", topic=key.topic, entry=entry)
        if key.kind == "ack":
            if not message:
                return None
            self._acks[ack_key(key.topic, key.agent_id)] = message
            return Change("ack", topic=key.topic, data=message)
        if key.kind == "agent":
            if not message:
                self._agents.pop(key.agent_id, None)
                return Change("agent", agent_id=key.agent_id)
            self._agents[key.agent_id] = message
            return Change("agent", agent_id=key.agent_id, data=message)
        return None

    def _apply_lease(self, lease: Dict[str, Any], offset: int, timestamp: int) -> LeaseOutcome:
        topic, run_id, op = lease["topic"], lease["runId"], lease["op"]
        current = self._holders.get(topic)
        current_valid = current is not None and current.expires_at > timestamp
        if op == "release":
            granted = current is not None and current.run_id == run_id
            if granted:
                self._holders[topic] = None
            return LeaseOutcome("release", granted)
        if current_valid and current.run_id != run_id:
            return LeaseOutcome(op, False, holder=current, reason="held by another run")
        epoch = lease.get("epoch")
        epochs = self._lease_epochs.setdefault(topic, {})
        if epoch is not None and run_id in epochs and epoch < epochs[run_id]:
            return LeaseOutcome(op, False, holder=current, reason=f"stale epoch {epoch} < {epochs[run_id]}")
        continuous = current_valid and current.run_id == run_id
        holder = LeaseHolder(
            run_id=run_id,
            host=lease["host"],
            pid=int(lease["pid"]),
            acquired_at=current.acquired_at if continuous else timestamp,
            expires_at=timestamp + int(lease["leaseMs"]),
            offset=offset,
        )
        self._holders[topic] = holder
        if epoch is not None and op == "claim":
            epochs[run_id] = int(epoch)
        return LeaseOutcome(op, True, holder=holder, continuous=continuous)

    def holder(self, topic: str) -> Optional[LeaseHolder]:
        """The holder as of the last folded record (it may have expired since)."""
        return self._holders.get(topic)

    def holder_at(self, topic: str, time_ms: int) -> Optional[LeaseHolder]:
        holder = self._holders.get(topic)
        return holder if holder is not None and holder.expires_at > time_ms else None

    def outcome_at(self, offset: int) -> Optional[LeaseOutcome]:
        return self._outcomes.get(offset)

    def command(self, topic: str) -> Optional[CommandEntry]:
        return self._commands.get(topic)

    def ack(self, topic: str, agent_id: str) -> Optional[Dict[str, Any]]:
        return self._acks.get(ack_key(topic, agent_id))

    def agents(self) -> Dict[str, Dict[str, Any]]:
        return dict(self._agents)

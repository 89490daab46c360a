from kreorg_agent.codec import decode, encode
from kreorg_agent.state import ControlState


def rec(state, offset, ts, key, msg):
    return state.apply(decode(key, encode(key, msg) if msg is not None else None), offset, ts)


def lease(op, run, ms=1000, epoch=None, topic="orders"):
    m = {"v": 1, "type": "lease", "op": op, "topic": topic, "runId": run, "host": "h", "pid": 1, "leaseMs": ms, "at": 0}
    if epoch is not None:
        m["epoch"] = epoch
    return m


def cmd(action, run, epoch=1, topic="orders", **extra):
    return {"v": 1, "type": "cmd", "action": action, "topic": topic, "runId": run, "epoch": epoch, "at": 0, **extra}


def test_lease_fold_grants_refuses_and_lapses():
    s = ControlState()
    c = rec(s, 0, 1000, "lease/orders", lease("claim", "A"))
    assert c.outcome.granted and s.holder("orders").expires_at == 2000
    c = rec(s, 1, 1500, "lease/orders", lease("claim", "B"))
    assert not c.outcome.granted and c.outcome.holder.run_id == "A"
    c = rec(s, 2, 1800, "lease/orders", lease("renew", "A"))
    assert c.outcome.granted and c.outcome.continuous and s.holder("orders").acquired_at == 1000
    # A lapsed at 2800; its renewal at 3000 is granted but not continuous
    c = rec(s, 3, 3000, "lease/orders", lease("renew", "A"))
    assert c.outcome.granted and not c.outcome.continuous
    # B claims after A's lapse
    c = rec(s, 4, 4500, "lease/orders", lease("claim", "B"))
    assert c.outcome.granted and s.holder("orders").run_id == "B"
    # release by a non-holder is not granted, by the holder it is
    assert not rec(s, 5, 4600, "lease/orders", lease("release", "A")).outcome.granted
    assert rec(s, 6, 4700, "lease/orders", lease("release", "B")).outcome.granted
    assert s.holder("orders") is None and s.outcome_at(1).granted is False


def test_command_authorization_is_decided_at_the_commands_position():
    s = ControlState()
    rec(s, 0, 1000, "lease/orders", lease("claim", "A"))
    assert rec(s, 1, 1500, "cmd/orders", cmd("pause", "A")).entry.authorized
    assert not rec(s, 2, 1600, "cmd/orders", cmd("pause", "B")).entry.authorized
    assert not rec(s, 3, 2500, "cmd/orders", cmd("refresh", "A")).entry.authorized  # lease lapsed at 2000
    assert s.command("orders").command["action"] == "refresh"


def test_fencing_stale_command_epochs_and_lease_epochs():
    s = ControlState()
    rec(s, 0, 1000, "lease/orders", lease("claim", "A", epoch=3))
    assert rec(s, 1, 1001, "cmd/orders", cmd("pause", "A", epoch=3)).kind == "cmd"
    stale = rec(s, 2, 1002, "cmd/orders", cmd("resume", "A", epoch=2))
    assert stale.kind == "stale-cmd" and stale.seen_epoch == 3
    assert s.command("orders").command["action"] == "pause"
    assert rec(s, 3, 1003, "cmd/orders", cmd("pause", "A", epoch=3)).kind == "cmd"  # same epoch: idempotent re-publish
    c = rec(s, 4, 1004, "lease/orders", lease("renew", "A", epoch=2))
    assert not c.outcome.granted
    assert rec(s, 5, 1005, "lease/orders", lease("renew", "A", epoch=3)).outcome.granted


def test_agents_acks_and_skipped_records():
    s = ControlState()
    assert s.apply(decode("cmd/orders", b"garbage"), 7, 1) is None and s.last_offset == 7
    ack = {"v": 1, "type": "ack", "topic": "orders", "agentId": "a", "state": "paused", "runId": "r", "epoch": 1, "partitionCount": 3, "at": 1}
    rec(s, 8, 1, "ack/orders/a", ack)
    assert s.ack("orders", "a")["state"] == "paused"

import json
import pathlib

import pytest

from kreorg_agent.codec import canonical_json, decode, encode, sign, verify

VECTORS = json.loads((pathlib.Path(__file__).parent / "vectors.json").read_text())


@pytest.mark.parametrize("v", VECTORS["codec"], ids=lambda v: v["key"])
def test_canonical_json_and_signature_match_the_ts_codec(v):
    assert canonical_json(v["msg"]) == v["canonical"]
    assert sign(v["key"], v["msg"], "topsecret") == v["sig"]
    assert sign(v["key"], v["msg"], "p\u00e4ss") == v["sig2"]
    signed = dict(v["msg"], sig=v["sig"])
    assert verify(v["key"], signed, "topsecret")
    assert not verify(v["key"], signed, "other")


def test_encode_signs_and_decode_verifies():
    msg = {"v": 1, "type": "cmd", "action": "pin", "topic": "orders", "runId": "r", "epoch": 2, "pinPartitions": 12, "at": 5}
    raw = encode("cmd/orders", msg, "s")
    d = decode("cmd/orders", raw, "s")
    assert d.ok and d.message["action"] == "pin"
    assert not decode("cmd/orders", raw, "t").ok
    unsigned = encode("cmd/orders", msg)
    d = decode("cmd/orders", unsigned, "s")
    assert not d.ok and "unsigned" in d.reason
    assert decode("cmd/orders", unsigned).ok
    # replayed under another key
    assert not decode("cmd/other", json.dumps(dict(msg, topic="other", sig=json.loads(raw)["sig"])), "s").ok


@pytest.mark.parametrize(
    "key,value,reason",
    [
        (None, b"{}", "without a key"),
        ("run/x", b"{}", "run state"),
        ("bogus/x", b"{}", "unknown key"),
        ("cmd/orders", b"not json", "not JSON"),
        ("cmd/orders", b"[1]", "not a JSON object"),
        ("cmd/orders", b'{"v":2}', "version"),
        ("cmd/orders", b'{"v":true,"type":"cmd"}', "version"),
        ("cmd/orders", b'{"v":1,"type":"cmd","action":"explode","topic":"orders","runId":"r","epoch":1,"at":1}', "action"),
        ("cmd/orders", b'{"v":1,"type":"cmd","action":"pause","topic":"other","runId":"r","epoch":1,"at":1}', "topic field"),
        ("cmd/orders", b'{"v":1,"type":"cmd","action":"pause","topic":"orders","runId":"r","epoch":1.5,"at":1}', "epoch"),
        ("cmd/orders", b'{"v":1,"type":"lease","op":"claim","topic":"orders","runId":"r","host":"h","pid":1,"leaseMs":1,"at":1}', "type"),
        ("ack/orders/a", b'{"v":1,"type":"ack","topic":"orders","agentId":"b","state":"paused","runId":"r","epoch":1,"partitionCount":1,"at":1}', "agentId"),
    ],
)
def test_bad_records_are_rejected_not_raised(key, value, reason):
    d = decode(key, value)
    assert not d.ok and reason in d.reason


def test_tombstone_and_float_integers():
    assert decode("agent/x", None).ok and decode("agent/x", None).message is None
    d = decode("cmd/orders", b'{"v":1.0,"type":"cmd","action":"pause","topic":"orders","runId":"r","epoch":1.0,"at":1,"extra":{"x":1}}')
    assert d.ok
    assert canonical_json({"a": 5.0, "b": 1e-7, "c": 1e21, "d": -0.0}) == '{"a":5,"b":1e-7,"c":1e+21,"d":0}'

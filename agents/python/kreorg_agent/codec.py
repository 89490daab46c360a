"""Control records: keys, canonical JSON, HMAC signing and validation (a port of src/control/codec.ts
and src/control/schema.ts, protocol 1 with the 1.1 additions).

Decoding never raises: a record that is not JSON, has another version, fails its schema or its
signature comes back as ``Decoded(ok=False, reason=...)`` so readers log it and move on.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
from dataclasses import dataclass
from typing import Any, Dict, Optional, Union

PROTOCOL_VERSION = 1
DEFAULT_CONTROL_TOPIC = "kreorg-control"
SIG_PREFIX = "hmac-sha256:"

CONTROL_TOPIC_CONFIG = {
    "cleanup.policy": "compact",
    "min.compaction.lag.ms": str(24 * 60 * 60 * 1000),
    "message.timestamp.type": "LogAppendTime",
}
HEARTBEAT_TOPIC_CONFIG = {
    "cleanup.policy": "delete",
    "retention.ms": "3600000",
    "message.timestamp.type": "LogAppendTime",
}


def heartbeat_topic(control_topic: str) -> str:
    return f"{control_topic}-heartbeats"


def cmd_key(topic: str) -> str:
    return f"cmd/{topic}"


def lease_key(topic: str) -> str:
    return f"lease/{topic}"


def ack_key(topic: str, agent_id: str) -> str:
    return f"ack/{topic}/{agent_id}"


def agent_key(agent_id: str) -> str:
    return f"agent/{agent_id}"


@dataclass(frozen=True)
class ParsedKey:
    kind: str  # cmd | lease | ack | agent
    topic: Optional[str] = None
    agent_id: Optional[str] = None


def parse_key(key: str) -> Optional[ParsedKey]:
    parts = key.split("/")
    kind = parts[0]
    a = parts[1] if len(parts) > 1 else ""
    b = parts[2] if len(parts) > 2 else ""
    if kind in ("cmd", "lease") and len(parts) == 2 and a:
        return ParsedKey(kind, topic=a)
    if kind == "ack" and len(parts) == 3 and a and b:
        return ParsedKey(kind, topic=a, agent_id=b)
    if kind == "agent" and len(parts) == 2 and a:
        return ParsedKey(kind, agent_id=a)
    return None


# ---------------------------------------------------------------------------------------------
# Canonical JSON: byte-identical to canonicalJson() in src/control/codec.ts (JSON.stringify rules).

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_NEEDS_ESCAPE = re.compile('["\\\\\x00-\x1f\ud800-\udfff]')


def _js_string(s: str) -> str:
    """JSON.stringify of a string: only quotes, backslashes, control characters and lone surrogates are escaped."""

    def repl(m: "re.Match[str]") -> str:
        ch = m.group(0)
        return _ESCAPES.get(ch) or "\\u%04x" % ord(ch)

    # A str from json.loads holds a valid surrogate pair as one code point (JSON.stringify writes it
    # raw) and a lone surrogate as itself (JSON.stringify escapes it): the regex covers both.
    return '"' + _NEEDS_ESCAPE.sub(repl, s) + '"'


def _js_number(n: Union[int, float]) -> str:
    if isinstance(n, bool):
        return "true" if n else "false"
    if isinstance(n, int):
        if abs(n) < 10**21:
            return str(n)
        n = float(n)
    if math.isnan(n) or math.isinf(n):
        return "null"
    if n == int(n) and abs(n) < 1e21:
        return str(int(n))
    text = repr(n)
    if "e" in text:
        mantissa, exp = text.split("e")
        sign = "-" if exp.startswith("-") else "+"
        exp = exp.lstrip("+-").lstrip("0") or "0"
        if mantissa.endswith(".0"):
            mantissa = mantissa[:-2]
        return f"{mantissa}e{sign}{exp}"
    return text


def _utf16_key(s: str) -> bytes:
    return s.encode("utf-16-be", "surrogatepass")


def canonical_json(value: Any) -> str:
    """JSON with object keys sorted (UTF-16 code units) at every level, no whitespace."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _js_number(value)
    if isinstance(value, str):
        return _js_string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(canonical_json(item) for item in value) + "]"
    if isinstance(value, dict):
        items = sorted(((str(k), v) for k, v in value.items()), key=lambda kv: _utf16_key(kv[0]))
        return "{" + ",".join(_js_string(k) + ":" + canonical_json(v) for k, v in items) + "}"
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def sign(key: str, message: Dict[str, Any], secret: str) -> str:
    unsigned = {k: v for k, v in message.items() if k != "sig"}
    payload = (key + "\n" + canonical_json(unsigned)).encode("utf-8", "surrogatepass")
    return SIG_PREFIX + hmac.new(secret.encode("utf-8"), payload, hashlib.sha256).hexdigest()


def verify(key: str, message: Dict[str, Any], secret: str) -> bool:
    given = message.get("sig")
    if not isinstance(given, str) or not given.startswith(SIG_PREFIX):
        return False
    return hmac.compare_digest(sign(key, message, secret).encode(), given.encode("utf-8", "surrogatepass"))


def encode(key: str, message: Dict[str, Any], secret: Optional[str] = None) -> bytes:
    body = {k: v for k, v in message.items() if k != "sig" and v is not None}
    if secret:
        body["sig"] = sign(key, body, secret)
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")


# ---------------------------------------------------------------------------------------------
# Validation (schema.ts, non-strict: unknown fields are kept and ignored).

class _Invalid(Exception):
    pass


_TOPIC_RE = re.compile(r"^[a-zA-Z0-9._-]{1,249}$")
AGENT_ID_RE = re.compile(r"^[a-zA-Z0-9._:-]{1,200}$")


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _is_int(v: Any) -> bool:
    return _is_number(v) and float(v).is_integer()


def _need(msg: Dict[str, Any], field: str, check, what: str, optional: bool = False) -> None:
    if field not in msg:
        if optional:
            return
        raise _Invalid(f"{field}: Required")
    v = msg[field]
    if not check(v):
        raise _Invalid(f"{field}: expected {what}")


def _string(max_len: Optional[int] = None, min_len: int = 0):
    return lambda v: isinstance(v, str) and len(v) >= min_len and (max_len is None or len(v) <= max_len)


def _int(min_value: Optional[int] = None):
    return lambda v: _is_int(v) and (min_value is None or v >= min_value)


def _topic(v: Any) -> bool:
    return isinstance(v, str) and bool(_TOPIC_RE.match(v))


def _enum(*values: str):
    return lambda v: isinstance(v, str) and v in values


COMMAND_ACTIONS = ("pause", "refresh", "resume", "pin")
ACK_STATES = ("paused", "refreshed", "resumed", "pinned")


def _validate_base(msg: Dict[str, Any], type_: str) -> None:
    _need(msg, "sig", lambda v: isinstance(v, str), "string", optional=True)
    _need(msg, "type", lambda v: v == type_, f'"{type_}"')


def _validate_lease(msg: Dict[str, Any]) -> None:
    _validate_base(msg, "lease")
    _need(msg, "op", _enum("claim", "renew", "release"), "claim|renew|release")
    _need(msg, "topic", _topic, "a Kafka topic name")
    _need(msg, "runId", _string(200, 1), "run id")
    _need(msg, "host", _string(255), "string")
    _need(msg, "pid", _int(), "integer")
    _need(msg, "leaseMs", _int(0), "non-negative integer")
    _need(msg, "at", _int(0), "non-negative integer")
    _need(msg, "epoch", _int(0), "non-negative integer", optional=True)


def _validate_cmd(msg: Dict[str, Any]) -> None:
    _validate_base(msg, "cmd")
    _need(msg, "action", _enum(*COMMAND_ACTIONS), "|".join(COMMAND_ACTIONS))
    _need(msg, "topic", _topic, "a Kafka topic name")
    _need(msg, "runId", _string(200, 1), "run id")
    _need(msg, "epoch", _int(0), "non-negative integer")
    _need(msg, "leaseExpiresAt", _int(0), "non-negative integer", optional=True)
    _need(msg, "targetPartitions", _int(1), "positive integer", optional=True)
    _need(
        msg,
        "canaryKeys",
        lambda v: isinstance(v, list) and len(v) <= 1000 and all(isinstance(k, str) and len(k) <= 1024 for k in v),
        "array of strings",
        optional=True,
    )
    _need(msg, "pinPartitions", _int(1), "positive integer", optional=True)
    _need(msg, "at", _int(0), "non-negative integer")


def _validate_ack(msg: Dict[str, Any]) -> None:
    _validate_base(msg, "ack")
    _need(msg, "topic", _topic, "a Kafka topic name")
    _need(msg, "agentId", lambda v: isinstance(v, str) and bool(AGENT_ID_RE.match(v)), "agent id")
    _need(msg, "state", _enum(*ACK_STATES), "|".join(ACK_STATES))
    _need(msg, "runId", _string(200, 1), "run id")
    _need(msg, "epoch", _int(0), "non-negative integer")
    _need(msg, "partitionCount", _int(0), "non-negative integer")
    _need(
        msg,
        "canary",
        lambda v: isinstance(v, dict) and all(_is_int(p) and p >= 0 for p in v.values()),
        "object of partitions",
        optional=True,
    )
    _need(msg, "partitioner", _string(100), "string", optional=True)
    _need(msg, "warning", _string(2000), "string", optional=True)
    _need(msg, "at", _int(0), "non-negative integer")


def _validate_agent(msg: Dict[str, Any]) -> None:
    _validate_base(msg, "agent")
    _need(msg, "agentId", lambda v: isinstance(v, str) and bool(AGENT_ID_RE.match(v)), "agent id")
    _need(msg, "host", _string(255), "string")
    _need(msg, "pid", _int(), "integer")
    _need(msg, "topics", lambda v: isinstance(v, list) and len(v) <= 10000 and all(_topic(t) for t in v), "topics")
    _need(msg, "version", _string(50), "string")
    _need(msg, "partitioner", _string(100), "string")
    _need(msg, "heartbeatMs", _int(0), "non-negative integer")
    _need(msg, "startedAt", _int(0), "non-negative integer")
    _need(msg, "states", lambda v: isinstance(v, dict), "object")
    _need(msg, "at", _int(0), "non-negative integer")


_VALIDATORS = {"cmd": _validate_cmd, "lease": _validate_lease, "ack": _validate_ack, "agent": _validate_agent}


@dataclass
class Decoded:
    ok: bool
    key: Optional[ParsedKey] = None
    message: Optional[Dict[str, Any]] = None  # None with ok=True: a tombstone
    reason: str = ""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def decode(raw_key: Optional[str], value: Union[bytes, str, None], secret: Optional[str] = None) -> Decoded:
    if not raw_key:
        return Decoded(False, reason="record without a key")
    if raw_key.startswith("run/"):
        return Decoded(False, reason=f"{raw_key[:100]}: run state record (not read by the pause protocol)")
    key = parse_key(raw_key)
    if key is None:
        return Decoded(False, reason=f"unknown key {json.dumps(raw_key[:100])}")
    if value is None:
        return Decoded(True, key=key, message=None)
    try:
        text = value.decode("utf-8") if isinstance(value, (bytes, bytearray, memoryview)) else value
        if isinstance(text, memoryview):
            text = bytes(text).decode("utf-8")
        parsed = json.loads(text, parse_constant=_reject_constant)
    except Exception:
        return Decoded(False, reason=f"{raw_key}: value is not JSON")
    if not isinstance(parsed, dict):
        return Decoded(False, reason=f"{raw_key}: value is not a JSON object")
    version = parsed.get("v")
    if not (_is_number(version) and version == PROTOCOL_VERSION):
        return Decoded(False, reason=f"{raw_key}: unsupported protocol version {json.dumps(version)[:20]}")
    try:
        _VALIDATORS[key.kind](parsed)
    except _Invalid as error:
        return Decoded(False, reason=f"{raw_key}: invalid {error}")
    if key.kind in ("cmd", "lease", "ack") and parsed.get("topic") != key.topic:
        return Decoded(False, reason=f"{raw_key}: topic field does not match the key")
    if key.kind in ("ack", "agent") and parsed.get("agentId") != key.agent_id:
        return Decoded(False, reason=f"{raw_key}: agentId does not match the key")
    if secret and not verify(raw_key, parsed, secret):
        what = "unsigned" if "sig" not in parsed else "bad signature"
        return Decoded(False, reason=f"{raw_key}: {what} (a secret is set)")
    return Decoded(True, key=key, message=parsed)

"""Runs the MiniRouter component (build/router.component.wasm) in the Wasmtime engine.

stdin:  JSON {"config": {...wit config, snake_case...}, "seed": [lo, hi], "steps": [...]}, each
        step one of {"op": "connect", "now": µs}, {"op": "receive", "conn": n, "frame": hex,
        "now": µs}, {"op": "tick", "now": µs}, {"op": "disconnect", "conn": n},
        {"op": "host-set", "address": s, "value": hex, "now": µs},
        {"op": "resume-session", "conn": n, "session": s}, {"op": "relock", "conn": n,
        "address": s}, {"op": "lock-holder", "address": s}
stdout: JSON list, per step: {"conn": n} for connect, {"error": "not-open"} for a refused
        receive, {"value": v} for relock and lock-holder (and a resume-session that found no
        session: null), else the outbox as {"deliveries": [[conn, frame hex]], "qos": [...],
        "events": [[kind, a, b, c, d, e]], "records": hex, "due": µs} (plus "revision" for
        host-set).
"""
import json
import sys

from wasmtime.component import Record

from component_host import interface

IFACE = "clawft:router/router@0.1.0"


def outbox(o: Record) -> dict:
    frames = bytes(o.frames)
    table = getattr(o, "frame-table")
    return {
        "deliveries": [[d.conn, frames[table[d.frame].start:table[d.frame].end].hex()] for d in o.deliveries],
        "qos": [f.qos for f in table],
        "events": [[e.kind, e.a, e.b, e.c, e.d, e.e] for e in o.events],
        "records": bytes(o.records).hex(),
        "due": o.due,
    }


def main() -> None:
    func = interface("router.component.wasm", IFACE)
    script = json.load(sys.stdin)
    config = Record()
    for key, value in script["config"].items():
        setattr(config, key.replace("_", "-"), value)
    func("configure")(config)
    func("seed")(*script["seed"])
    out = []
    for step in script["steps"]:
        op = step["op"]
        if op == "connect":
            out.append({"conn": func("connect")(float(step["now"]))})
        elif op == "receive":
            result = func("receive")(step["conn"], bytes.fromhex(step["frame"]), float(step["now"]))
            out.append({"error": result} if isinstance(result, str) else outbox(result))
        elif op == "tick":
            out.append(outbox(func("tick")(float(step["now"]))))
        elif op == "disconnect":
            out.append(outbox(func("disconnect")(step["conn"])))
        elif op == "host-set":
            written = func("host-set")(step["address"], bytes.fromhex(step["value"]), float(step["now"]))
            out.append({**outbox(written.outbox), "revision": written.revision})
        elif op == "resume-session":
            resumed = func("resume-session")(step["conn"], step["session"])
            out.append({"value": None} if resumed is None else outbox(resumed))
        elif op == "relock":
            out.append({"value": func("relock")(step["conn"], step["address"])})
        elif op == "lock-holder":
            out.append({"value": func("lock-holder")(step["address"])})
        else:
            raise ValueError(f"unknown op {op}")
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()

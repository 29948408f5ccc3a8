"""Replays a CLP event log in the Wasmtime engine, through the core module (build/clp.wasm)
and through the component (build/clp.component.wasm), and prints what each ends with.

stdin:  JSON {"contract": hex, "log": hex, "component_log": hex, "batch"?: {"contract": hex,
        "args": hex}}  (contract: CLASP bytes of a contract descriptor; component_log: a log
        for the component, whose list<u8> crosses byte by byte in wasmtime-py, so it gets a
        shorter one; batch: a contract and the CLASP arguments of one `batch` call, run on the
        core module)
stdout: JSON {"core": {...}, "component": {...}, "batch"?: {...}} with, for each, "hash"
        (state SHA-256 hex), "state" (state CLASP bytes, hex) and "head" (the CLASP-encoded
        head answer, hex), or "error" (hex of the CLASP error value) when the engine refused.
"""
import json
import struct
import sys

import wasmtime

from component_host import ROOT, interface

IFACE = "clawft:clp/engine@0.1.0"


def run_core(contract: bytes, log: bytes, verb: str = "replay") -> dict:
    """Creates an engine from `contract` in the core module and calls `verb` (replay: an event
    log; batch: CLASP arguments) with `log`."""
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    module = wasmtime.Module.from_file(engine, str(ROOT / "build" / "clp.wasm"))
    instance = wasmtime.Instance(store, module, [])
    ex = instance.exports(store)
    memory = ex["memory"]
    info = ex["info"](store)

    def answer() -> tuple[int, bytes]:
        ptr, length, status, _ = struct.unpack("<4I", memory.read(store, info, info + 16))
        return status, bytes(memory.read(store, ptr, ptr + length))

    def put(data: bytes) -> int:
        ptr = ex["input"](store, len(data))
        memory.write(store, data, ptr)
        return len(data)

    h = ex["create"](store, put(contract))
    if h == 0:
        return {"error": answer()[1].hex()}
    ex[verb](store, h, put(log))
    status, reply = answer()
    if status != 0:
        return {"error": reply.hex()}
    ex["head"](store, h)
    _, head = answer()
    ex["stateHash"](store, h)
    _, digest = answer()
    ex["state"](store, h)
    _, state = answer()
    return {"hash": digest.hex(), "state": state.hex(), "head": head.hex()}


def run_component(contract: bytes, log: bytes) -> dict:
    def detail(result):
        # wasmtime-py returns the err case of result<_, clp-error> as a record value
        if hasattr(result, "detail"):
            raise RuntimeError(bytes(result.detail).hex())
        return result

    func = interface("clp.component.wasm", IFACE, detail)

    try:
        h = func("create")(contract)
        head = bytes(func("replay")(h, log))
        digest = bytes(func("state-hash")(h))
        state = bytes(func("state")(h))
    except RuntimeError as err:
        return {"error": str(err)}
    return {"hash": digest.hex(), "state": state.hex(), "head": head.hex()}


def main() -> None:
    args = json.load(sys.stdin)
    contract = bytes.fromhex(args["contract"])
    out = {
        "core": run_core(contract, bytes.fromhex(args["log"])),
        "component": run_component(contract, bytes.fromhex(args["component_log"])),
    }
    if "batch" in args:
        batch = args["batch"]
        out["batch"] = run_core(bytes.fromhex(batch["contract"]), bytes.fromhex(batch["args"]), "batch")
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()

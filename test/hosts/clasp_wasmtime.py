"""Runs the CLASP codec component (build/clasp.component.wasm) in the Wasmtime engine.

stdin:  JSON list of hex-encoded frames
stdout: JSON list, per frame: {"tape": [u32...], "reencoded": hex} where "reencoded" is the
        component's `encode` of the decoded tape (strings referring into the frame itself),
        or {"tape": [...], "error": {...}} when encoding fails.
"""
import json
import sys
from pathlib import Path

import wasmtime
from wasmtime import component

ROOT = Path(__file__).resolve().parents[2]
IFACE = "clawft:clasp/codec@0.1.0"


def main() -> None:
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    comp = component.Component.from_file(engine, str(ROOT / "build" / "clasp.component.wasm"))
    linker = component.Linker(engine)
    instance = linker.instantiate(store, comp)
    iface = instance.get_export_index(store, IFACE)

    def func(name: str):
        f = instance.get_func(store, instance.get_export_index(store, name, iface))
        assert f is not None, name

        def call(*args):
            result = f(store, *args)
            f.post_return(store)
            return result

        return call

    decode, encode, reason = func("decode"), func("encode"), func("reason")
    out = []
    for hexframe in json.load(sys.stdin):
        frame = bytes.fromhex(hexframe)
        tape = list(decode(frame))
        item = {"tape": tape}
        if tape and tape[0] & 0xFF == 0:
            item["reason"] = reason(tape[3])
        else:
            try:
                item["reencoded"] = bytes(encode(tape, frame, 1)).hex()
            except wasmtime.WasmtimeError as err:  # a trap would land here
                item["trap"] = str(err)
            except Exception as err:  # result<_, codec-error> err case
                item["error"] = repr(err)
        out.append(item)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()

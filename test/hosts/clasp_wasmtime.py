"""Runs the CLASP codec component (build/clasp.component.wasm) in the Wasmtime engine.

stdin:  JSON list of hex-encoded frames
stdout: JSON list, per frame: {"tape": [u32...], "reencoded": hex} where "reencoded" is the
        component's `encode` of the decoded tape (strings referring into the frame itself),
        or {"tape": [...], "error": {...}} when encoding fails.
"""
import json
import sys

import wasmtime

from component_host import interface

IFACE = "clawft:clasp/codec@0.1.0"


def main() -> None:
    func = interface("clasp.component.wasm", IFACE)
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

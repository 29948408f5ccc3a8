"""Runs a WASI 0.2 command component (build/clawft.wasm by default) in the Wasmtime engine,
the way `wasmtime run -S http` would: WASI 0.2 and wasi:http linked, arguments, the given
environment variables only, preopened directories, this script's stdin, stdout and stderr.
Exits with the command's status (0 ok, 1 err, or the code it passed to exit).

usage: agent_wasmtime.py [--wasm FILE] [--dir HOST::GUEST]... [--env NAME=VALUE]... [--] ARGS...
"""
import argparse
import sys
from pathlib import Path

import wasmtime
from wasmtime import component

ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wasm", default=str(ROOT / "build" / "clawft.wasm"), help="the command component to run")
    parser.add_argument("--dir", action="append", default=[], metavar="HOST::GUEST", help="preopen directory HOST as GUEST")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="an environment variable for the command")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="the command's arguments (after its name)")
    opts = parser.parse_args()
    args = opts.args[1:] if opts.args[:1] == ["--"] else opts.args

    wasi = wasmtime.WasiConfig()
    wasi.argv = [Path(opts.wasm).name, *args]
    env = []
    for pair in opts.env:
        name, sep, value = pair.partition("=")
        if not sep:
            parser.error(f"--env {pair}: expected NAME=VALUE")
        env.append((name, value))
    wasi.env = env
    for spec in opts.dir:
        host, sep, guest = spec.partition("::")
        wasi.preopen_dir(host, guest if sep else host)
    wasi.inherit_stdin()
    wasi.inherit_stdout()
    wasi.inherit_stderr()

    config = wasmtime.Config()
    # Wasmtime's compilation cache, on by default in `wasmtime run` too: a component compiled
    # once (~100 ms) loads from the cache afterwards (~8 ms).
    config.cache = True
    engine = wasmtime.Engine(config)
    store = wasmtime.Store(engine)
    store.set_wasi(wasi)
    store.set_wasi_http()
    linker = component.Linker(engine)
    linker.add_wasip2()
    linker.add_wasi_http()
    comp = component.Component.from_file(engine, opts.wasm)
    # A command exports wasi:cli/run at the WASI 0.2.x version it was built against.
    run_iface = next((name for name in comp.type.exports(engine) if name.startswith("wasi:cli/run@0.2.")), None)
    if run_iface is None:
        print(f"agent_wasmtime: {opts.wasm} exports no wasi:cli/run (not a command component)", file=sys.stderr)
        return 1
    instance = linker.instantiate(store, comp)
    run = instance.get_func(store, instance.get_export_index(store, "run", instance.get_export_index(store, run_iface)))
    assert run is not None
    try:
        result = run(store)
    except wasmtime.ExitTrap as exit_trap:
        return exit_trap.code
    # run: func() -> result; wasmtime 49's binding gives Variant(tag="ok"|"err", payload=None).
    return 0 if getattr(result, "tag", "err") == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())

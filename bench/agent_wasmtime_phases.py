"""`agent_wasmtime_phases.py RUNS [agent_wasmtime.py arguments…]`: runs the Wasmtime test host
(test/hosts/agent_wasmtime.py, the same code the tests and `bench/agent.bench.ts`'s process
timings use) RUNS times inside this one Python process and prints, as one JSON object on the
original stdout, how long each part took in milliseconds:

  import        importing the wasmtime package and the host script (once)
  runs[i]       {compile, instantiate, total, code} of run i: `Component.from_file` (compiling,
                or loading from Wasmtime's compilation cache), `Linker.instantiate`, and the
                whole of the host's main() (setup + compile + instantiate + the command's run)

The phases are timed by wrapping those two wasmtime calls, so the host script is measured as
it is, not re-implemented. The guest's own stdout goes to /dev/null.
"""
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    runs = int(sys.argv[1])
    host_args = sys.argv[2:]
    t0 = time.perf_counter()
    import wasmtime
    from wasmtime import component

    sys.path.insert(0, str(ROOT / "test" / "hosts"))
    import agent_wasmtime

    imported = time.perf_counter() - t0
    phase = {"compile": 0.0, "instantiate": 0.0}
    from_file = component.Component.from_file.__func__
    instantiate = component.Linker.instantiate

    def timed_from_file(cls, engine, path):
        t = time.perf_counter()
        try:
            return from_file(cls, engine, path)
        finally:
            phase["compile"] += time.perf_counter() - t

    def timed_instantiate(self, store, comp):
        t = time.perf_counter()
        try:
            return instantiate(self, store, comp)
        finally:
            phase["instantiate"] += time.perf_counter() - t

    component.Component.from_file = classmethod(timed_from_file)
    component.Linker.instantiate = timed_instantiate

    report = os.fdopen(os.dup(1), "w")
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    results = []
    for _ in range(runs):
        phase["compile"] = phase["instantiate"] = 0.0
        sys.argv = ["agent_wasmtime.py", *host_args]
        t = time.perf_counter()
        code = agent_wasmtime.main()
        total = time.perf_counter() - t
        results.append({"compile": phase["compile"] * 1e3, "instantiate": phase["instantiate"] * 1e3, "total": total * 1e3, "code": code})
    json.dump({"import": imported * 1e3, "runs": results}, report)
    report.close()


if __name__ == "__main__":
    main()

"""Runs build/hnsw.component.wasm in Wasmtime (the wasmtime Python embedding).

Reads {"dim", "vectors": [[...]], "queries": [[...]], "k", "quantization"?} as JSON on stdin, builds an index
through the component's `clawft:hnsw/index` exports, and prints JSON: each query's neighbours,
the refusal of a wrong-length vector, and the search after a save/load round trip.
"""
import json
import sys

from wasmtime import Engine, Store
from wasmtime.component import Component, Linker

spec = json.load(sys.stdin)
engine = Engine()
store = Store(engine)
instance = Linker(engine).instantiate(store, Component.from_file(engine, sys.argv[1]))
iface = instance.get_export_index(store, "clawft:hnsw/index@0.1.0")


def call(name, *args):
    """Calls an export; a `result` error comes back as its hnsw-error record."""
    return instance.get_func(store, instance.get_export_index(store, name, iface))(store, *args)


def neighbours(found):
    return [[n.label, n.distance] for n in found]


dim, k = spec["dim"], spec["k"]
assert call("init", dim, "l2", 16, 200, len(spec["vectors"]), 100, spec.get("quantization", "f32")) is None
for label, v in enumerate(spec["vectors"]):
    assert call("add-point", v, label) is None
out = {"size": call("size"), "knn": [neighbours(call("search-knn", q, k, 50)) for q in spec["queries"]]}
bad = call("add-point", [0.0] * (dim + 1), 1)
out["wrong_length"] = {"code": bad.code, "value": bad.value, "message": bad.message}
snapshot = call("save")
assert call("init", 2, "ip", 4, 4, 4, 1, "f32") is None
assert call("load", snapshot) is None
out["reloaded"] = [neighbours(call("search-knn", q, k, 50)) for q in spec["queries"]]
print(json.dumps(out))

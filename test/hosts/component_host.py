"""Loads a clawft component (build/<name>.component.wasm) in the Wasmtime engine and returns
its exported functions of one interface, ready to call (post-return included)."""
from pathlib import Path
from typing import Any, Callable, Optional

import wasmtime
from wasmtime import component

ROOT = Path(__file__).resolve().parents[2]


def interface(artifact: str, iface: str, on_result: Optional[Callable[[Any], Any]] = None) -> Callable[[str], Callable[..., Any]]:
    """`artifact` is the component file under build/, `iface` its exported interface
    (e.g. "clawft:clasp/codec@0.1.0"). Returns func(name) -> callable; `on_result`, when
    given, sees (and may replace or raise on) every result."""
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    comp = component.Component.from_file(engine, str(ROOT / "build" / artifact))
    instance = component.Linker(engine).instantiate(store, comp)
    index = instance.get_export_index(store, iface)

    def func(name: str) -> Callable[..., Any]:
        f = instance.get_func(store, instance.get_export_index(store, name, index))
        assert f is not None, name

        def call(*args: Any) -> Any:
            result = f(store, *args)
            f.post_return(store)
            return on_result(result) if on_result else result

        return call

    return func

/**
 * Cross-host determinism: replaying the same event log must end in byte-identical state on
 * every host (architecture principle 3). This function needs only a loaded engine core, so a
 * browser test page, Node and a Worker can all call it; the Wasmtime test does the same
 * through the component (test/hosts/clp_wasmtime.py).
 * @module
 */
import { ClpCore, expectOk } from "./core.js";
import { toHex } from "../core/hex.js";


/**
 * Replays `log` (an event log starting at event 0, e.g. `runtime.exportLog()`) into a fresh
 * engine and returns the state's SHA-256, its CLASP bytes, and the log's head.
 * @throws EventLogError when the log is corrupt or tampered with
 */
export function replayStateHash(core: ClpCore, log: Uint8Array): { hash: string; state: Uint8Array; seq: number; head: string } {
  const h = core.create({ intents: {}, transitions: {} });
  try {
    const [seq, head] = expectOk(core.bytes("replay", h, log)) as [number, Uint8Array];
    return { hash: toHex(core.raw("stateHash", h)), state: core.raw("state", h), seq, head: toHex(head) };
  } finally {
    core.destroy(h);
  }
}

import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The project's Python virtual environment, where .ci/run installs the `wasmtime` package. */
export const python = fileURLToPath(new URL("../../.venv/bin/python", import.meta.url));

let probe: Promise<string | undefined> | undefined;

/**
 * Why Wasmtime host tests cannot run here, or `undefined` when they can: the `wasmtime`
 * Python package (the real Wasmtime engine) must import from `.venv`. Tests use it as
 * `it.skipIf(reason)` and name the reason, so a missing engine is reported, never silent.
 */
export function wasmtimeUnavailable(): Promise<string | undefined> {
  probe ??= new Promise((resolve) => {
    if (!existsSync(python)) return resolve("skipped: wasmtime not installable (no .venv; run .ci/run)");
    execFile(python, ["-c", "import wasmtime"], (err) =>
      resolve(err ? "skipped: wasmtime not installable (pip could not install it)" : undefined),
    );
  });
  return probe;
}

/**
 * Runs a Python script with the venv interpreter; `stdin` is written to it. Resolves its
 * stdout; rejects with its stderr when it exits non-zero.
 */
export function runPython(script: string, args: string[] = [], stdin?: Uint8Array | string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile(python, [script, ...args], { encoding: "buffer", maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${script} failed: ${err.message}\n${stderr.toString()}`));
      else resolve(stdout);
    });
    child.stdin!.end(stdin ?? "");
  });
}

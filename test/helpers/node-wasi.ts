/**
 * Runs a WASI preview1 command module in Node's `node:wasi`, in this process, with files for
 * its stdio (node:wasi takes file descriptors, not streams): the reference host that WAMR
 * runs are compared with.
 */
import { WASI } from "node:wasi";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** What the command did: its exit code and its output. */
export interface WasiRun {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/**
 * Runs `wasm` (a path) with `args` (argv[0] is added), its environment `env` (node:wasi fails
 * `environ_get` on an empty one, so `CLAWFT=1` is always added), the host directories `dirs`
 * preopened under their own paths, and `stdin` as its standard input.
 */
export async function runNodeWasi(
  wasm: string,
  args: string[],
  o: { env?: Record<string, string>; dirs?: string[]; stdin?: Uint8Array | string } = {},
): Promise<WasiRun> {
  const io = mkdtempSync(join(tmpdir(), "clawft-wasi-io-"));
  const paths = ["in", "out", "err"].map((n) => join(io, n));
  writeFileSync(paths[0]!, o.stdin ?? "");
  const fds = [openSync(paths[0]!, "r"), openSync(paths[1]!, "w"), openSync(paths[2]!, "w")];
  try {
    const wasi = new WASI({
      version: "preview1",
      args: ["clawft.wasm", ...args],
      env: { CLAWFT: "1", ...o.env },
      preopens: Object.fromEntries((o.dirs ?? []).map((d) => [d, d])),
      stdin: fds[0],
      stdout: fds[1],
      stderr: fds[2],
      returnOnExit: true,
    });
    const module = await WebAssembly.compile(await readFile(wasm));
    const instance = await WebAssembly.instantiate(module, wasi.getImportObject() as WebAssembly.Imports);
    const code = wasi.start(instance);
    return { code, stdout: readFileSync(paths[1]!), stderr: readFileSync(paths[2]!, "utf8") };
  } finally {
    fds.forEach((fd) => closeSync(fd));
    rmSync(io, { recursive: true, force: true });
  }
}

/**
 * What `npm pack` would publish (`npm pack --dry-run`, lifecycle scripts off): no GPL code —
 * the playground build (dist/web, with the GPL-3.0 eSpeak NG wasm) stays out, the speak plugin
 * loads the optional `espeak-ng` at run time — no debug builds, no test-fixture wasm; and the
 * script-tag build with its cores is in.
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

describe("the published package", () => {
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const out = execFileSync(npm, ["pack", "--dry-run", "--ignore-scripts", "--json"], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  const [pack] = JSON.parse(out) as Array<{ files: Array<{ path: string; size: number }>; size: number }>;
  const paths = pack!.files.map((f) => f.path);

  it("holds no GPL code: no eSpeak NG wasm, no playground build", () => {
    expect(paths.filter((p) => /espeak-ng\.(wasm|js)$|^dist\/web\//.test(p))).toEqual([]);
    // Nothing of node_modules/espeak-ng was copied in under another name: no wasm over 1 MB.
    expect(pack!.files.filter((f) => f.path.endsWith(".wasm") && f.size > 1_000_000).map((f) => f.path)).toEqual([]);
  });

  it("holds no debug builds and no test fixtures", () => {
    expect(paths.filter((p) => p.startsWith("build/debug/") || /^build\/(http-probe|parsers|sockets-probe|tools-cli)\.wasm$/.test(p))).toEqual([]);
  });

  it("holds the script-tag build with its cores, and the cores the faces load", () => {
    expect(paths).toEqual(expect.arrayContaining([
      "dist/clawft.global.js", "dist/clasp.wasm", "dist/clp.wasm", "dist/hnsw.wasm", "dist/hnsw.scalar.wasm",
      "build/clasp.wasm", "build/clp.wasm", "build/hnsw.wasm", "build/router.wasm", "build/clawft.wasm",
    ]));
  });
});

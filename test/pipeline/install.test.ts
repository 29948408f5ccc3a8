import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash, generateKeyPairSync, sign } from "node:crypto";
import { createServer, type Server } from "node:http";
import { mkdir, mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { create, Header } from "tar";
import { PluginInstallError } from "../../src/pipeline/errors.js";
import { PipelineHost } from "../../src/pipeline/node/host.js";
import { installPlugin } from "../../src/pipeline/node/install.js";
import { collect, FIXTURE_PLUGINS } from "./helpers.js";

const files = new Map<string, Uint8Array>();
let server: Server;
let base: string;
let work: string;
let good: Uint8Array;
const { publicKey, privateKey } = generateKeyPairSync("ed25519");
const publicPem = publicKey.export({ type: "spki", format: "pem" }).toString();
const rawPublic = (publicKey.export({ type: "spki", format: "der" }) as Buffer).subarray(12).toString("base64");
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** A tar archive built entry by entry, so it can hold what `tar.create` would never write. */
function rawTar(entries: Array<{ path: string; type?: "File" | "SymbolicLink" | "Directory"; body?: string; linkpath?: string }>): Uint8Array {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body ?? "");
    const h = new Header({ path: e.path, type: e.type ?? "File", size: e.type === "File" || !e.type ? body.length : 0, mode: 0o644, mtime: new Date(0), ...(e.linkpath && { linkpath: e.linkpath }) });
    const block = Buffer.alloc(512);
    h.encode(block);
    blocks.push(block);
    if (body.length) blocks.push(Buffer.concat([body, Buffer.alloc((512 - (body.length % 512)) % 512)]));
  }
  blocks.push(Buffer.alloc(1024));
  return new Uint8Array(gzipSync(Buffer.concat(blocks)));
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "clawft-install-"));
  // A real plugin: the fixture echo plugin renamed "remote-echo", in a top-level directory.
  const src = join(work, "src", "remote-echo");
  await mkdir(src, { recursive: true });
  const toml = (await readFile(join(FIXTURE_PLUGINS, "fault/plugin.toml"), "utf8")).replace('name = "fault"', 'name = "remote-echo"');
  await writeFile(join(src, "plugin.toml"), toml);
  await writeFile(join(src, "fault.mjs"), await readFile(join(FIXTURE_PLUGINS, "fault/fault.mjs")));
  const chunks: Uint8Array[] = [];
  for await (const c of create({ gzip: true, cwd: join(work, "src"), portable: true }, ["remote-echo"])) chunks.push(c as Uint8Array);
  good = new Uint8Array(Buffer.concat(chunks));
  files.set("/echo.tar.gz", good);
  files.set("/echo.tar.gz.sig", new Uint8Array(Buffer.from(sign(null, good, privateKey).toString("base64"))));
  const tampered = good.slice();
  tampered[tampered.length - 30]! ^= 1;
  files.set("/tampered.tar.gz", tampered);
  files.set("/tampered.tar.gz.sig", files.get("/echo.tar.gz.sig")!);
  files.set("/traversal.tar.gz", rawTar([{ path: "plugin.toml", body: toml }, { path: "../../escaped.txt", body: "gotcha" }]));
  files.set("/absolute.tar.gz", rawTar([{ path: "/tmp/clawft-absolute.txt", body: "gotcha" }]));
  files.set("/symlink.tar.gz", rawTar([{ path: "plugin.toml", body: toml }, { path: "fault.mjs", type: "SymbolicLink", linkpath: "/etc/passwd" }]));
  files.set("/outside-entry.tar.gz", rawTar([{ path: "plugin.toml", body: toml.replace('entrypoint = "fault.mjs"', 'entrypoint = "../../../bin/sh"') }]));
  server = createServer((req, res) => {
    const f = files.get(req.url ?? "");
    if (!f) return res.writeHead(404).end();
    res.writeHead(200, { "content-type": "application/octet-stream" }).end(f);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

async function refused(path: string, opts: Partial<Parameters<typeof installPlugin>[1]> = {}): Promise<PluginInstallError> {
  const dir = await mkdtemp(join(work, "plugins-"));
  const e = await installPlugin(`${base}${path}`, { sha256: sha(files.get(path) ?? new Uint8Array()), dir, ...opts }).catch((x: unknown) => x);
  expect(e).toBeInstanceOf(PluginInstallError);
  // Nothing is left in the plugin directory (no half-installed plugin, no staging leftovers).
  expect(await readdir(dir)).toEqual([]);
  return e as PluginInstallError;
}

describe("URL plugins", () => {
  it("installs after the SHA-256 and the ed25519 signature check, then runs", async () => {
    const dir = join(work, "installed");
    const host = await PipelineHost.open({ pluginDirs: [dir], cacheFile: null });
    const { plugin } = await installPlugin(`${base}/echo.tar.gz`, { sha256: sha(good), dir, publicKey: publicPem, verify: (p) => host.verify(p) });
    expect(plugin.id).toBe("remote-echo");
    expect(await readdir(dir)).toEqual(["remote-echo"]);
    await host.refresh();
    const p = await host.prepare(`[input]\ntype = "text/plain"\n[[nodes]]\nplugin = "remote-echo"\n`);
    expect(new TextDecoder().decode(await collect(host.run(p, "from the network")))).toBe("from the network");
    // A raw 32-byte key (base64) works too, and a second install needs --replace.
    const again = await installPlugin(`${base}/echo.tar.gz`, { sha256: sha(good), dir, publicKey: rawPublic, replace: true });
    expect(again.plugin.id).toBe("remote-echo");
    await expect(installPlugin(`${base}/echo.tar.gz`, { sha256: sha(good), dir })).rejects.toThrow(/already installed/);
  });

  it("refuses an archive whose SHA-256 does not match", async () => {
    const e = await refused("/tampered.tar.gz", { sha256: sha(good) });
    expect(e.code).toBe("CHECKSUM");
    expect(e.message).toMatch(/SHA-256 mismatch/);
  });

  it("refuses a tampered archive whose signature does not verify, even with a matching hash", async () => {
    const e = await refused("/tampered.tar.gz", { publicKey: publicPem });
    expect(e.code).toBe("SIGNATURE");
    const other = generateKeyPairSync("ed25519").publicKey.export({ type: "spki", format: "pem" }).toString();
    expect((await refused("/echo.tar.gz", { publicKey: other })).code).toBe("SIGNATURE");
  });

  it("refuses path traversal, absolute paths and links", async () => {
    expect((await refused("/traversal.tar.gz")).message).toMatch(/path traversal in \.\.\/\.\.\/escaped\.txt/);
    expect((await refused("/absolute.tar.gz")).code).toBe("UNSAFE_ARCHIVE");
    expect((await refused("/symlink.tar.gz")).message).toMatch(/SymbolicLink entry fault\.mjs/);
    expect((await refused("/outside-entry.tar.gz")).message).toMatch(/points outside the plugin directory/);
    await expect(readFile(join(work, "escaped.txt"))).rejects.toThrow();
  });

  it("refuses a download that fails or is too large", async () => {
    expect((await refused("/missing.tar.gz", { sha256: "0".repeat(64) })).code).toBe("DOWNLOAD");
    expect((await refused("/echo.tar.gz", { maxBytes: 100 })).code).toBe("DOWNLOAD");
    await expect(installPlugin(`${base}/echo.tar.gz`, { sha256: "abc", dir: work })).rejects.toMatchObject({ code: "CHECKSUM" });
  });
});

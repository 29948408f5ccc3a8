/**
 * URL plugins: download a plugin archive (`.tar` or `.tar.gz`), check its SHA-256 and — when a
 * public key is configured — its ed25519 signature, refuse unsafe archives (absolute paths,
 * `..`, links, devices, oversize), unpack it into a fresh sandbox directory, and check its
 * manifest. Nothing is written to the plugin directory unless every check passes.
 * @module
 */
import { createHash, createPublicKey, timingSafeEqual, verify as verifySignature, type KeyObject } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { isAbsolute, join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { Parser, Unpack } from "tar";
import { PluginInstallError } from "../errors.js";
import { pluginFromManifest, type PluginInfo } from "../manifest.js";
import type { VerifyResult } from "../verify.js";

/** Options of {@link installPlugin}. */
export interface InstallOptions {
  /** Expected SHA-256 of the archive, hex. Required: nothing is installed without it. */
  readonly sha256: string;
  /** Directory the plugin is installed into (as `<dir>/<name>/`). */
  readonly dir: string;
  /**
   * ed25519 public key: PEM (SPKI), or the raw 32-byte key as base64 or hex. When given, the
   * archive must carry a valid signature.
   */
  readonly publicKey?: string | KeyObject;
  /** The detached signature (64 bytes raw, or base64 text), or the URL to fetch it from. Defaults to `<url>.sig`. */
  readonly signature?: Uint8Array | string;
  /** Largest archive, and largest total unpacked size, in bytes. Defaults to 64 MiB. */
  readonly maxBytes?: number;
  /** Replace an installed plugin of the same name. Defaults to false. */
  readonly replace?: boolean;
  /** Runs the verification mini-test; a failure removes the plugin again. */
  readonly verify?: (plugin: PluginInfo) => Promise<VerifyResult>;
}

async function download(url: string, maxBytes: number): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url, { redirect: "follow" });
  } catch (e) {
    throw new PluginInstallError("DOWNLOAD", `cannot fetch ${url}: ${(e as Error).message}`, { cause: e });
  }
  if (!res.ok || !res.body) throw new PluginInstallError("DOWNLOAD", `fetching ${url} failed: HTTP ${res.status}`);
  const parts: Uint8Array[] = [];
  let total = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > maxBytes) {
      await reader.cancel();
      throw new PluginInstallError("DOWNLOAD", `${url} is larger than ${maxBytes} bytes`);
    }
    parts.push(value);
  }
  return new Uint8Array(Buffer.concat(parts));
}

/** Reads an ed25519 public key given as PEM or as the raw 32 bytes in base64 or hex. */
export function ed25519PublicKey(key: string | KeyObject): KeyObject {
  if (typeof key !== "string") return key;
  const text = key.trim();
  if (text.includes("-----BEGIN")) return createPublicKey(text);
  const raw = /^[0-9a-f]{64}$/i.test(text) ? Buffer.from(text, "hex") : Buffer.from(text, "base64");
  if (raw.length !== 32) throw new PluginInstallError("SIGNATURE", `an ed25519 public key has 32 bytes (got ${raw.length})`);
  // SPKI DER prefix of an Ed25519 key (RFC 8410), then the raw key.
  const der = Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), raw]);
  return createPublicKey({ key: der, format: "der", type: "spki" });
}

function signatureBytes(sig: Uint8Array): Uint8Array {
  if (sig.length === 64) return sig;
  const text = new TextDecoder().decode(sig).trim();
  const b = Buffer.from(text, "base64");
  if (b.length !== 64) throw new PluginInstallError("SIGNATURE", `an ed25519 signature has 64 bytes (got ${sig.length}, or ${b.length} as base64)`);
  return b;
}

/** Lists an archive's entries and refuses anything that could escape the sandbox. */
async function checkArchive(bytes: Uint8Array, maxBytes: number): Promise<void> {
  const problems: string[] = [];
  let total = 0;
  let count = 0;
  await new Promise<void>((resolveList, reject) => {
    const p = new Parser({
      strict: true,
      onReadEntry: (e) => {
        count++;
        const path = e.path;
        if (isAbsolute(path) || /^[a-zA-Z]:/.test(path)) problems.push(`absolute path ${path}`);
        else if (path.split(/[\\/]/).includes("..")) problems.push(`path traversal in ${path}`);
        if (e.type !== "File" && e.type !== "Directory" && e.type !== "OldFile") problems.push(`${e.type} entry ${path} (only files and directories are allowed)`);
        total += e.size ?? 0;
        e.resume();
      },
    });
    p.on("end", () => resolveList());
    p.on("error", reject);
    p.on("warn", (_code: string, message: string) => problems.push(message));
    p.end(Buffer.from(bytes));
  }).catch((e: Error) => {
    throw new PluginInstallError("UNSAFE_ARCHIVE", `not a valid tar archive: ${e.message}`);
  });
  if (count === 0) problems.push("the archive is empty");
  if (total > maxBytes) problems.push(`unpacked size ${total} exceeds ${maxBytes} bytes`);
  if (problems.length) throw new PluginInstallError("UNSAFE_ARCHIVE", `refused archive: ${problems.join("; ")}`);
}

/**
 * Installs a plugin from a URL after checking its integrity.
 * @param url `http:`/`https:` URL of a `.tar` or `.tar.gz` holding `plugin.toml` at its root or
 *   in its single top-level directory
 * @returns the installed plugin and its directory
 * @throws {@link PluginInstallError} with code DOWNLOAD, CHECKSUM, SIGNATURE, UNSAFE_ARCHIVE,
 *   MANIFEST or VERIFY; the plugin directory is left untouched
 */
export async function installPlugin(url: string, options: InstallOptions): Promise<{ plugin: PluginInfo; dir: string }> {
  const maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
  const expected = options.sha256.trim().toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(expected)) throw new PluginInstallError("CHECKSUM", "the expected SHA-256 must be 64 hex digits");
  const archive = await download(url, maxBytes);
  const actual = createHash("sha256").update(archive).digest();
  if (!timingSafeEqual(actual, Buffer.from(expected, "hex"))) {
    throw new PluginInstallError("CHECKSUM", `SHA-256 mismatch for ${url}: expected ${expected}, got ${actual.toString("hex")}`);
  }
  if (options.publicKey !== undefined) {
    const key = ed25519PublicKey(options.publicKey);
    const sigSource = options.signature ?? `${url}.sig`;
    const sig = signatureBytes(typeof sigSource === "string" ? await download(sigSource, 4096) : sigSource);
    let ok = false;
    try {
      ok = verifySignature(null, archive, key, sig);
    } catch (e) {
      throw new PluginInstallError("SIGNATURE", `cannot check the signature: ${(e as Error).message}`, { cause: e });
    }
    if (!ok) throw new PluginInstallError("SIGNATURE", `the ed25519 signature of ${url} does not verify with the configured public key`);
  }
  await checkArchive(archive, maxBytes);

  await mkdir(options.dir, { recursive: true });
  const staging = await mkdtemp(join(options.dir, ".install-"));
  try {
    await new Promise<void>((resolveUnpack, reject) => {
      const u = new Unpack({ cwd: staging, strict: true, preservePaths: false, preserveOwner: false });
      u.on("close", () => resolveUnpack());
      u.on("error", reject);
      u.end(Buffer.from(archive));
    });
    let root = staging;
    const hasManifest = (d: string): Promise<boolean> => stat(join(d, "plugin.toml")).then((s) => s.isFile(), () => false);
    if (!(await hasManifest(root))) {
      const top = (await readdir(staging, { withFileTypes: true })).filter((d) => d.isDirectory());
      if (top.length === 1 && (await hasManifest(join(staging, top[0]!.name)))) root = join(staging, top[0]!.name);
      else throw new PluginInstallError("MANIFEST", "the archive has no plugin.toml at its root or in its single top-level directory");
    }
    let plugin: PluginInfo;
    try {
      plugin = pluginFromManifest(await readFile(join(root, "plugin.toml"), "utf8"), pathToFileURL(root + "/"));
    } catch (e) {
      throw new PluginInstallError("MANIFEST", (e as Error).message, { cause: e });
    }
    const entry = resolve(root, plugin.manifest.entrypoint);
    const rel = relative(root, entry);
    if (rel.startsWith("..") || isAbsolute(rel)) {
      throw new PluginInstallError("UNSAFE_ARCHIVE", `entrypoint ${plugin.manifest.entrypoint} points outside the plugin directory`);
    }
    if (!(await stat(entry).then((s) => s.isFile(), () => false))) throw new PluginInstallError("MANIFEST", `entrypoint ${plugin.manifest.entrypoint} is missing from the archive`);
    const target = join(options.dir, plugin.id);
    if (await stat(target).then(() => true, () => false)) {
      if (!options.replace) throw new PluginInstallError("MANIFEST", `a plugin "${plugin.id}" is already installed at ${target}`);
      await rm(target, { recursive: true, force: true });
    }
    await rename(root, target);
    const installed = pluginFromManifest(plugin.manifestText, pathToFileURL(target + "/"));
    if (options.verify) {
      const r = await options.verify(installed);
      if (!r.ok) {
        await rm(target, { recursive: true, force: true });
        throw new PluginInstallError("VERIFY", `plugin "${installed.id}" failed verification: ${r.error}`);
      }
    }
    return { plugin: installed, dir: target };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

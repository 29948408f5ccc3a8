/**
 * Verification with a cache (Node): results of {@link verifyPlugin} are kept by the SHA-256 of
 * the manifest, the entrypoint and the protocol version, in memory and in a JSON file, so a
 * plugin is tested once until it changes. Only successes are cached.
 * @module
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { PluginInfo } from "../manifest.js";
import { PROTOCOL_VERSION } from "../protocol.js";
import { verifyPlugin, type VerifyOptions, type VerifyResult } from "../verify.js";

/** Default cache file: `$XDG_CACHE_HOME/clawft/pipeline-verify.json` (or `~/.cache/…`). */
export function defaultCacheFile(): string {
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "clawft", "pipeline-verify.json");
}

/**
 * SHA-256 (hex) of what verification depends on: manifest text, entrypoint bytes, protocol.
 * @throws Error when the entrypoint cannot be read
 */
export async function pluginHash(plugin: PluginInfo): Promise<string> {
  const h = createHash("sha256");
  h.update(plugin.manifestText);
  h.update("\0");
  h.update(await readFile(fileURLToPath(plugin.entrypointUrl)));
  h.update("\0");
  h.update(PROTOCOL_VERSION);
  return h.digest("hex");
}

/** Verifies plugins, consulting and filling a cache file. */
export class VerifyCache {
  readonly #file: string | null;
  #entries: Map<string, { plugin: string; verifiedAt: string }> | null = null;

  /** @param file JSON cache file; null keeps results in memory only. Defaults to {@link defaultCacheFile}. */
  constructor(file: string | null = defaultCacheFile()) {
    this.#file = file;
  }

  async #load(): Promise<Map<string, { plugin: string; verifiedAt: string }>> {
    if (this.#entries) return this.#entries;
    this.#entries = new Map();
    if (this.#file) {
      try {
        const data = JSON.parse(await readFile(this.#file, "utf8")) as Record<string, { plugin: string; verifiedAt: string }>;
        for (const [k, v] of Object.entries(data)) this.#entries.set(k, v);
      } catch {
        /* no cache yet, or unreadable: start empty */
      }
    }
    return this.#entries;
  }

  async #save(): Promise<void> {
    if (!this.#file || !this.#entries) return;
    await mkdir(dirname(this.#file), { recursive: true });
    const tmp = `${this.#file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(Object.fromEntries(this.#entries), null, 1));
    await rename(tmp, this.#file);
  }

  /**
   * Verifies `plugin` unless an identical one (same hash) passed before.
   * @returns the result; `cached` tells whether the mini-test ran
   */
  async verify(plugin: PluginInfo, options: Omit<VerifyOptions, "readInput">): Promise<VerifyResult> {
    let key: string;
    try {
      key = await pluginHash(plugin);
    } catch (e) {
      return { plugin: plugin.id, ok: false, error: `cannot read the entrypoint: ${(e as Error).message}`, outputBytes: 0, durationMs: 0, cached: false };
    }
    const entries = await this.#load();
    if (entries.has(key)) return { plugin: plugin.id, ok: true, outputBytes: 0, durationMs: 0, cached: true };
    const r = await verifyPlugin(plugin, { ...options, readInput: async (url) => new Uint8Array(await readFile(fileURLToPath(url))) });
    if (r.ok) {
      entries.set(key, { plugin: plugin.id, verifiedAt: new Date().toISOString() });
      await this.#save().catch(() => {});
    }
    return r;
  }
}

/**
 * localStorage {@link Storage} (the roadmap's LocalStorageAdapter): for pages that want state
 * to survive a reload without IndexedDB. docs/storage.md.
 * @module
 */
import { StorageBackendError, StorageQuotaError, checkChanges, checkKey, checkValue, type Storage, type StorageChange } from "./index.js";

/**
 * Chromium's localStorage quota per origin: 5,242,880 UTF-16 code units for all keys and
 * values together (measured: a longer key leaves a value that much shorter).
 */
export const LOCAL_STORAGE_QUOTA_UNITS = 5 * 1024 * 1024;

/** Code units kept free for the key (with the prefix) when the default value limit is derived from the quota. */
const KEY_ROOM = 256;

/** Bits each code unit carries, and the first code unit used (no controls, no surrogates). */
const BITS = 15;
const BASE = 0x1000;

/**
 * Bytes → string, 15 bits per UTF-16 code unit in U+1000…U+8FFF (no control characters, no
 * surrogates, so the string is valid UTF-16 and survives any backend that re-encodes it as
 * UTF-8). The first code unit is U+1000 + the padding bits (0–14) after the last byte.
 */
export function bytesToString(bytes: Uint8Array): string {
  const units = Math.ceil((bytes.length * 8) / BITS);
  const out = new Array<string>(units + 1);
  out[0] = String.fromCharCode(BASE + (units * BITS - bytes.length * 8));
  let acc = 0;
  let bits = 0;
  let o = 1;
  for (let i = 0; i < bytes.length; i++) {
    acc = (acc << 8) | bytes[i]!;
    bits += 8;
    if (bits >= BITS) {
      bits -= BITS;
      out[o++] = String.fromCharCode(BASE + (acc >>> bits));
      acc &= (1 << bits) - 1;
    }
  }
  if (bits > 0) out[o++] = String.fromCharCode(BASE + (acc << (BITS - bits)));
  return out.join("");
}

/**
 * String made by {@link bytesToString} → bytes.
 * @throws StorageBackendError when the string is not such an encoding (written by someone else)
 */
export function stringToBytes(s: string): Uint8Array {
  const padding = s.charCodeAt(0) - BASE;
  const units = s.length - 1;
  const n = (units * BITS - padding) / 8;
  if (!(padding >= 0 && padding < BITS && Number.isInteger(n) && n >= 0)) throw new StorageBackendError("localStorage value is not a clawft byte encoding");
  const out = new Uint8Array(n);
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 1; i <= units && o < n; i++) {
    const v = s.charCodeAt(i) - BASE;
    if (v < 0 || v >= 1 << BITS) throw new StorageBackendError("localStorage value is not a clawft byte encoding");
    acc = (acc << BITS) | v;
    bits += BITS;
    while (bits >= 8 && o < n) {
      bits -= 8;
      out[o++] = (acc >>> bits) & 0xff;
    }
    acc &= (1 << bits) - 1;
  }
  return out;
}

/** Options of a {@link LocalStorageStorage}. */
export interface LocalStorageOptions {
  /** Prepended to every key in localStorage. Defaults to `"clawft:"`. */
  prefix?: string;
  /**
   * Largest value in bytes. Defaults to what fits alone in an empty origin: (5,242,880 − 257)
   * code units × 15 bits = 9,829,918 bytes. Values that fit this limit but not the space left
   * (other keys use the same quota) fail with {@link StorageQuotaError}.
   */
  maxValueBytes?: number;
  /** The Web Storage object. Defaults to `globalThis.localStorage` (`sessionStorage` works too). */
  storage?: globalThis.Storage;
}

function isQuota(err: unknown): boolean {
  return err instanceof DOMException && (err.name === "QuotaExceededError" || err.name === "NS_ERROR_DOM_QUOTA_REACHED");
}

/**
 * Web Storage (`localStorage`) {@link Storage}: each key is `prefix + key`, each value its
 * bytes as {@link bytesToString} text (15 bits per code unit). Synchronous underneath; a
 * write that would pass the origin's quota throws {@link StorageQuotaError} and leaves what
 * was stored untouched (a failed {@link LocalStorageStorage.commit} puts back the values it
 * had already replaced).
 *
 * Durability: the browser keeps the values across reloads and restarts, but writes them to
 * disk some time after `setItem` returns (Chromium: within seconds), so a browser crash can
 * lose the last writes. Use IndexedDB where an acknowledgement must mean "on disk".
 */
export class LocalStorageStorage implements Storage {
  readonly #ls: globalThis.Storage;
  readonly prefix: string;
  readonly maxValueBytes: number;

  constructor(options: LocalStorageOptions = {}) {
    const ls = options.storage ?? (globalThis as { localStorage?: globalThis.Storage }).localStorage;
    if (!ls) throw new StorageBackendError("localStorage is not available here (not a browser window, or disabled)");
    this.#ls = ls;
    this.prefix = options.prefix ?? "clawft:";
    this.maxValueBytes = options.maxValueBytes ?? Math.floor(((LOCAL_STORAGE_QUOTA_UNITS - 1 - KEY_ROOM) * BITS) / 8);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const s = this.#ls.getItem(this.prefix + checkKey(key));
    return s === null ? undefined : stringToBytes(s);
  }

  async set(key: string, value: Uint8Array): Promise<void> {
    checkValue(checkKey(key), value, this.maxValueBytes);
    this.#put(key, value);
  }

  #put(key: string, value: Uint8Array | null): void {
    try {
      if (value) this.#ls.setItem(this.prefix + key, bytesToString(value));
      else this.#ls.removeItem(this.prefix + key);
    } catch (err) {
      if (isQuota(err)) throw new StorageQuotaError(`localStorage quota exceeded writing ${JSON.stringify(key.slice(0, 80))} (${value?.length ?? 0} bytes)`, { cause: err });
      throw new StorageBackendError(`localStorage: ${(err as Error).message}`, { cause: err });
    }
  }

  async delete(key: string): Promise<void> {
    this.#ls.removeItem(this.prefix + checkKey(key));
  }

  /** All changes or none: on a failure (the quota) the values already replaced are put back. */
  async commit(changes: readonly StorageChange[]): Promise<void> {
    checkChanges(changes, this.maxValueBytes);
    const before: Array<[string, string | null]> = [];
    try {
      for (const [key, value] of changes) {
        before.push([key, this.#ls.getItem(this.prefix + key)]);
        this.#put(key, value);
      }
    } catch (err) {
      for (const [key, old] of before.reverse()) {
        if (old === null) this.#ls.removeItem(this.prefix + key);
        else this.#ls.setItem(this.prefix + key, old); // fits: it was there before
      }
      throw err;
    }
  }

  async keys(prefix = ""): Promise<string[]> {
    const out: string[] = [];
    const full = this.prefix + prefix;
    for (let i = 0; i < this.#ls.length; i++) {
      const k = this.#ls.key(i);
      if (k !== null && k.startsWith(full)) out.push(k.slice(this.prefix.length));
    }
    return out;
  }

  async close(): Promise<void> {}
}

/**
 * Plugin discovery over directories (Node): every `<dir>/<plugin>/plugin.toml`. A bad manifest
 * is reported and skipped; it never hides the others.
 * @module
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { ManifestError } from "../errors.js";
import { pluginFromManifest, type PluginInfo } from "../manifest.js";
import { isCompatibleProtocol, PROTOCOL_VERSION } from "../protocol.js";

/** A manifest that was skipped, and why. */
export interface DiscoveryProblem {
  /** Path of the `plugin.toml`. */
  readonly file: string;
  /** The error: a {@link ManifestError} for schema problems, or a read/shadowing error. */
  readonly error: Error;
}

/** What {@link discoverPlugins} found. */
export interface Discovery {
  /** Usable plugins by id, in discovery order (the first directory wins a name clash). */
  readonly plugins: Map<string, PluginInfo>;
  /** Manifests skipped: unreadable, invalid, incompatible protocol, duplicate name. */
  readonly problems: DiscoveryProblem[];
}

/**
 * Scans plugin directories: each subdirectory holding a `plugin.toml` is a plugin. Missing
 * directories are skipped silently (they are often optional defaults).
 * @param dirs directories to scan, in priority order
 */
export async function discoverPlugins(dirs: readonly string[]): Promise<Discovery> {
  const plugins = new Map<string, PluginInfo>();
  const problems: DiscoveryProblem[] = [];
  for (const dir of dirs) {
    let entries: string[];
    try {
      entries = (await readdir(dir)).sort();
    } catch {
      continue;
    }
    for (const name of entries) {
      const pluginDir = resolve(dir, name);
      const file = join(pluginDir, "plugin.toml");
      const isDir = await stat(pluginDir).then((s) => s.isDirectory(), () => false);
      if (!isDir) continue;
      let text: string;
      try {
        text = await readFile(file, "utf8");
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT") problems.push({ file, error: e as Error });
        continue;
      }
      try {
        const info = pluginFromManifest(text, pathToFileURL(pluginDir + "/"));
        if (!isCompatibleProtocol(info.manifest.protocol_version)) {
          throw new ManifestError(file, [{ path: "protocol_version", message: `protocol ${info.manifest.protocol_version} is not compatible with this host's ${PROTOCOL_VERSION} (refused, no fallback)` }]);
        }
        const prior = plugins.get(info.id);
        if (prior) {
          throw new ManifestError(file, [{ path: "name", message: `a plugin named "${info.id}" was already found at ${prior.baseUrl}; this one is ignored` }]);
        }
        plugins.set(info.id, info);
      } catch (e) {
        problems.push({ file, error: e as Error });
      }
    }
  }
  return { plugins, problems };
}

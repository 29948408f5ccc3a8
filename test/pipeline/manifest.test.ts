import { describe, expect, it } from "vitest";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CapabilityIndex } from "../../src/pipeline/capabilities.js";
import { ManifestError, OrchestrationError } from "../../src/pipeline/errors.js";
import { parseManifest, pluginFromManifest, resolveOptions, type PluginInfo } from "../../src/pipeline/manifest.js";
import { parseOrchestration, stringifyOrchestration, validateOrchestration } from "../../src/pipeline/orchestration.js";
import { discoverPlugins } from "../../src/pipeline/node/discovery.js";
import { PLUGINS } from "./helpers.js";

const GOOD = `
name = "tts-x"
version = "1.2.3"
protocol_version = "1.0"
kind = "process"
entrypoint = "run.py"
stage = "tts"
[capabilities]
input = ["text/plain"]
output = ["audio/wav", "audio/raw"]
mode = "streaming"
[options.voice]
type = "string"
default = "en"
enum = ["en", "de"]
[options.rate]
type = "integer"
default = 175
min = 80
max = 450
[options.seed]
type = "number"
`;

const issues = (text: string): string[] => {
  try {
    parseManifest(text, "plugin.toml");
  } catch (e) {
    expect(e).toBeInstanceOf(ManifestError);
    return (e as ManifestError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  return [];
};

describe("manifests", () => {
  it("parses a complete manifest, with defaults for args and options", () => {
    const m = parseManifest(GOOD, "x");
    expect(m.name).toBe("tts-x");
    expect(m.args).toEqual([]);
    expect(m.capabilities.output).toEqual(["audio/wav", "audio/raw"]);
    expect(m.options.rate).toEqual({ type: "integer", default: 175, min: 80, max: 450 });
  });

  it("accepts api_version as an alias of protocol_version", () => {
    expect(parseManifest(GOOD.replace("protocol_version", "api_version"), "x").protocol_version).toBe("1.0");
  });

  it("names every missing field", () => {
    const found = issues(`name = "x"\n`);
    for (const f of ["version", "protocol_version", "kind", "entrypoint", "stage", "capabilities"]) {
      expect(found.some((i) => i.startsWith(`${f}:`))).toBe(true);
    }
  });

  it("names wrong types, unknown enums and unknown keys", () => {
    expect(issues(GOOD.replace('version = "1.2.3"', "version = 3"))).toEqual([expect.stringMatching(/^version: .*expected string/)]);
    expect(issues(GOOD.replace('kind = "process"', 'kind = "docker"'))[0]).toMatch(/^kind:/);
    expect(issues(GOOD.replace('mode = "streaming"', 'mode = "fast"'))[0]).toMatch(/^capabilities.mode:/);
    expect(issues(GOOD.replace('input = ["text/plain"]', 'input = ["text"]'))[0]).toMatch(/^capabilities.input.0: must be a MIME type/);
    expect(issues(GOOD.replace('input = ["text/plain"]', "input = []"))[0]).toMatch(/^capabilities.input:/);
    expect(issues(`${GOOD}\nentrypiont = "typo"\n`)[0]).toMatch(/entrypiont/);
  });

  it("refuses option defaults that break their own schema", () => {
    expect(issues(GOOD.replace("default = 175", "default = 20"))[0]).toMatch(/^options.rate.default:/);
    expect(issues(GOOD.replace('default = "en"', 'default = "fr"'))[0]).toMatch(/^options.voice.default:.*must be one of/);
    expect(issues(GOOD.replace("default = 175", 'default = "fast"'))[0]).toMatch(/^options.rate.default:/);
    expect(issues(GOOD.replace('type = "string"', 'type = "string"\nmin = 1'))[0]).toMatch(/min\/max apply to number/);
  });

  it("reports TOML syntax errors with line and column", () => {
    expect(issues('name = "x"\nversion = \n')[0]).toMatch(/invalid TOML at line 2, column \d+/);
  });

  it("parses the bundled plugins' manifests", async () => {
    const { plugins, problems } = await discoverPlugins([PLUGINS]);
    expect(problems).toEqual([]);
    expect([...plugins.keys()].sort()).toEqual(["example-python", "mp3", "normalize", "speak"]);
  });
});

describe("options", () => {
  const specs = parseManifest(GOOD, "x").options;
  it("fills defaults and reports required options", () => {
    expect(resolveOptions(specs, { seed: 1.5 })).toEqual({ values: { voice: "en", rate: 175, seed: 1.5 }, issues: [] });
    expect(resolveOptions(specs, {}).issues).toEqual(['option "seed" is required (number)']);
  });
  it("refuses unknown options, out-of-range values and coercion", () => {
    expect(resolveOptions(specs, { seed: 1, speed: 2 }).issues).toEqual(['unknown option "speed" (known: voice, rate, seed)']);
    expect(resolveOptions(specs, { seed: 1, rate: 500 }).issues[0]).toMatch(/rate.*500/);
    expect(resolveOptions(specs, { seed: 1, rate: 100.5 }).issues[0]).toMatch(/rate.*integer/);
    expect(resolveOptions(specs, { seed: "1" }).issues[0]).toMatch(/seed.*expected number/);
    expect(resolveOptions(specs, { seed: 1, voice: "fr" }).issues[0]).toMatch(/must be one of "en", "de"/);
  });
});

function plugin(name: string, input: string[], output: string[], stage = "pre"): PluginInfo {
  return pluginFromManifest(
    `name = "${name}"\nversion = "1"\nprotocol_version = "1.0"\nkind = "process"\nentrypoint = "x"\nstage = "${stage}"\n[capabilities]\ninput = ${JSON.stringify(input)}\noutput = ${JSON.stringify(output)}\nmode = "streaming"\n[options.level]\ntype = "integer"\ndefault = 1\nmin = 0\nmax = 3\n`,
    `file:///plugins/${name}/`,
  );
}

describe("orchestrations", () => {
  const plugins = new Map(
    [plugin("clean", ["text/plain"], ["text/plain"]), plugin("tts", ["text/plain", "application/ssml+xml"], ["audio/wav", "audio/raw"], "tts"), plugin("mp3", ["audio/wav"], ["audio/mpeg"], "converter"), plugin("ogg", ["audio/raw"], ["audio/ogg"], "converter")].map((p) => [p.id, p]),
  );
  const cr = (nodes: string, extra = "") => parseOrchestration(`${extra}\n${nodes}`);

  it("resolves edge types, preferring the producer's order, and fills options", () => {
    const p = validateOrchestration(cr(`[[nodes]]\nplugin = "clean"\n[[nodes]]\nid = "voice"\nplugin = "tts"\n[[nodes]]\nplugin = "ogg"\noptions = { level = 3 }`), plugins);
    expect(p.nodes.map((n) => [n.id, n.inputType, n.outputType, n.options.level])).toEqual([
      ["clean", "text/plain", "text/plain", 1],
      ["voice", "text/plain", "audio/raw", 1],
      ["ogg", "audio/raw", "audio/ogg", 3],
    ]);
    expect(p.outputType).toBe("audio/ogg");
  });

  it("names the node and both type lists on a mismatch (no implicit conversion)", () => {
    const e = (() => {
      try {
        validateOrchestration(cr(`[[nodes]]\nplugin = "clean"\n[[nodes]]\nplugin = "mp3"`), plugins);
      } catch (x) {
        return x as OrchestrationError;
      }
    })()!;
    expect(e).toBeInstanceOf(OrchestrationError);
    expect(e.issues).toEqual([{ node: "mp3", code: "TYPE_MISMATCH", message: 'plugin "mp3" accepts audio/wav but node "clean" produces text/plain' }]);
  });

  it("checks the pipeline input and output types", () => {
    expect(() => validateOrchestration(cr(`[[nodes]]\nplugin = "mp3"`), plugins)).toThrow(/the pipeline input \(\[input\] type\) produces text\/plain/);
    expect(() => validateOrchestration(cr(`[[nodes]]\nplugin = "tts"`, `[output]\ntype = "audio/mpeg"`), plugins)).toThrow(/must be audio\/mpeg but node "tts" produces \[audio\/wav, audio\/raw\]/);
    expect(validateOrchestration(cr(`[[nodes]]\nplugin = "tts"`, `[output]\ntype = "audio/raw"`), plugins).outputType).toBe("audio/raw");
  });

  it("lists every problem at once: unknown plugin, bad option, duplicate id", () => {
    try {
      validateOrchestration(cr(`[[nodes]]\nplugin = "nope"\n[[nodes]]\nplugin = "clean"\noptions = { level = 9, color = "red" }`), plugins);
      expect.unreachable();
    } catch (e) {
      expect((e as OrchestrationError).issues.map((i) => `${i.node}:${i.code}`)).toEqual(["nope:UNKNOWN_PLUGIN", "clean:INVALID_OPTION", "clean:INVALID_OPTION"]);
    }
    expect(() => parseOrchestration(`[[nodes]]\nplugin = "clean"\n[[nodes]]\nplugin = "clean"`)).toThrow(/duplicate node id "clean"/);
  });

  it("refuses malformed files with a SCHEMA or PARSE error", () => {
    expect(() => parseOrchestration(`[meta]\nname = "x"`)).toThrow(/at least one \[\[nodes\]\]/);
    expect(() => parseOrchestration(`[[nodes]]\nplugin = 3`)).toThrow(/nodes.0.plugin/);
    expect(() => parseOrchestration(`[[nodes]\nplugin = "x"`)).toThrow(/invalid TOML at line 1/);
  });

  it("round-trips through TOML", () => {
    const o = cr(`[[nodes]]\nplugin = "clean"\noptions = { level = 2 }`, `[meta]\nname = "rt"`);
    expect(parseOrchestration(stringifyOrchestration(o))).toEqual(o);
  });

  it("indexes plugins by stage, input and output type", () => {
    const idx = new CapabilityIndex(plugins.values());
    expect(idx.find({ stage: "converter" }).map((p) => p.id)).toEqual(["mp3", "ogg"]);
    expect(idx.find({ input: "text/plain", output: "audio/raw" }).map((p) => p.id)).toEqual(["tts"]);
    expect(idx.successorsOf(["audio/wav", "audio/raw"]).map((p) => p.id)).toEqual(["mp3", "ogg"]);
  });
});

describe("discovery", () => {
  it("reports and skips bad manifests without hiding the good ones", async () => {
    const dir = await mkdtemp(join(tmpdir(), "clawft-plugins-"));
    const put = async (name: string, text: string) => {
      await mkdir(join(dir, name));
      await writeFile(join(dir, name, "plugin.toml"), text);
    };
    await put("a-good", GOOD.replace('"tts-x"', '"good"'));
    await put("b-missing", `name = "missing"\n`);
    await put("c-types", GOOD.replace('"tts-x"', '"types"').replace("mode = \"streaming\"", "mode = 3"));
    await put("d-future", GOOD.replace('"tts-x"', '"future"').replace('protocol_version = "1.0"', 'protocol_version = "2.0"'));
    await put("e-dup", GOOD.replace('"tts-x"', '"good"'));
    await put("f-syntax", "name = ");
    await mkdir(join(dir, "g-no-manifest"));
    await writeFile(join(dir, "stray-file"), "");
    const { plugins, problems } = await discoverPlugins([dir, join(dir, "does-not-exist")]);
    expect([...plugins.keys()]).toEqual(["good"]);
    expect(problems.map((p) => p.file.split("/").at(-2))).toEqual(["b-missing", "c-types", "d-future", "e-dup", "f-syntax"]);
    expect(problems[2]!.error.message).toMatch(/protocol 2.0 is not compatible.*refused, no fallback/);
    expect(problems[3]!.error.message).toMatch(/already found/);
  });
});

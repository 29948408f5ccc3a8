import { describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { cp, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configureWizard, type Prompts } from "../../src/pipeline/node/configure.js";
import { PipelineHost } from "../../src/pipeline/node/host.js";
import { parseOrchestration } from "../../src/pipeline/orchestration.js";
import { FIXTURE_PLUGINS, PLUGINS, ROOT } from "./helpers.js";

const CLI = [process.execPath, "--import", "tsx", join(ROOT, "src/cli/index.ts"), "pipeline"];
const cli = (args: string[], input?: string) => {
  const [cmd, ...rest] = CLI;
  const r = spawnSync(cmd!, [...rest, ...args], { cwd: ROOT, input, encoding: "utf8", env: { ...process.env, XDG_CACHE_HOME: tmpdir() } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

describe("clawft pipeline (CLI)", () => {
  it("validate: prints the resolved pipeline, exit 0", () => {
    const r = cli(["validate", "examples/text-to-mp3.cr", "--plugins", PLUGINS, "--no-verify"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/valid \(text\/plain → audio\/mpeg\)/);
    expect(r.stdout).toMatch(/speak \[speak 1\.0\.0\] text\/plain → audio\/wav \{"voice":"en-us","rate":170/);
  });

  it("validate: names the node of a type mismatch, exit 2", async () => {
    const dir = await mkdtemp(join(tmpdir(), "clawft-cli-"));
    await writeFile(join(dir, "bad.cr"), `[[nodes]]\nplugin = "normalize"\n[[nodes]]\nplugin = "mp3"\noptions = { bitrate = 100 }\n`);
    const r = cli(["validate", join(dir, "bad.cr"), "--plugins", PLUGINS]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/node "mp3" \[TYPE_MISMATCH\] plugin "mp3" accepts audio\/wav but node "normalize" produces text\/plain/);
    expect(r.stderr).toMatch(/node "mp3" \[INVALID_OPTION\] option "bitrate" = 100/);
  });

  it("plugins --json: lists plugins and the manifests it skipped", () => {
    const r = cli(["plugins", "--json", "--plugins", PLUGINS, FIXTURE_PLUGINS]);
    expect(r.code).toBe(0);
    const body = JSON.parse(r.stdout) as { plugins: Array<{ id: string }>; problems: unknown[] };
    expect(body.plugins.map((p) => p.id).sort()).toEqual(["example-python", "fault", "mp3", "normalize", "speak"]);
  });

  it("run: writes the output file, reports the failing node and removes partial output on failure", async () => {
    const dir = await mkdtemp(join(tmpdir(), "clawft-cli-"));
    await writeFile(join(dir, "in.txt"), "some input bytes");
    await writeFile(join(dir, "ok.cr"), `[input]\ntype = "text/plain"\n[[nodes]]\nplugin = "fault"\n`);
    const ok = cli(["run", join(dir, "ok.cr"), join(dir, "in.txt"), "--output", join(dir, "out.bin"), "--plugins", FIXTURE_PLUGINS, "--progress"]);
    expect(ok.code).toBe(0);
    expect(await readFile(join(dir, "out.bin"), "utf8")).toBe("some input bytes");
    expect(ok.stderr).toMatch(/wrote 16 B \(application\/octet-stream\) to .*out\.bin/);
    await writeFile(join(dir, "crash.cr"), `[input]\ntype = "text/plain"\n[[nodes]]\nid = "boom"\nplugin = "fault"\noptions = { mode = "crash" }\n`);
    const bad = cli(["run", join(dir, "crash.cr"), join(dir, "in.txt"), "--output", join(dir, "crash.bin"), "--plugins", FIXTURE_PLUGINS, "--no-verify"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/\[INTERNAL_PLUGIN_FAILURE\]: node "boom"/);
    expect(bad.stderr).toMatch(/simulated crash/);
    await expect(readFile(join(dir, "crash.bin"))).rejects.toThrow();
    await expect(readFile(join(dir, "crash.bin.partial"))).rejects.toThrow();
  });

  it("run: refuses a timeout that would disable the hang watchdog", async () => {
    const dir = await mkdtemp(join(tmpdir(), "clawft-cli-"));
    await writeFile(join(dir, "ok.cr"), `[input]\ntype = "text/plain"\n[[nodes]]\nplugin = "fault"\n`);
    for (const bad of ["abc", "-1"]) {
      const r = cli(["run", join(dir, "ok.cr"), "-", "--timeout", bad, "--plugins", FIXTURE_PLUGINS, "--no-verify"], "x");
      expect(r.code, bad).toBe(1);
      expect(r.stderr, bad).toMatch(/option '--timeout <ms>' argument .* is invalid\. expected a positive integer/);
    }
  });

  it("run: the user's --timeout wins over the plugin's own timeout_ms", async () => {
    const dir = await mkdtemp(join(tmpdir(), "clawft-cli-"));
    const plugins = join(dir, "plugins");
    // A copy of the fault plugin whose manifest asks for a 10-minute timeout.
    await cp(join(FIXTURE_PLUGINS, "fault"), join(plugins, "fault"), { recursive: true });
    const manifest = join(plugins, "fault", "plugin.toml");
    await writeFile(manifest, (await readFile(manifest, "utf8")).replace('stage = "pre"', 'stage = "pre"\ntimeout_ms = 600000'));
    await writeFile(join(dir, "hang.cr"), `[input]\ntype = "text/plain"\n[[nodes]]\nid = "stuck"\nplugin = "fault"\noptions = { mode = "hang" }\n`);
    const r = cli(["run", join(dir, "hang.cr"), "-", "--timeout", "300", "--plugins", plugins, "--no-verify"], "x");
    expect(r.code).toBe(1);
    // The limit named is the user's 300 ms, not the plugin's 10 minutes.
    expect(r.stderr).toMatch(/\[TIMEOUT\]: .*no progress for 300 ms/);
  });

  it("run: a missing output directory is a clear error before any plugin runs, not CANCELLED", async () => {
    const dir = await mkdtemp(join(tmpdir(), "clawft-cli-"));
    await writeFile(join(dir, "ok.cr"), `[input]\ntype = "text/plain"\n[[nodes]]\nplugin = "fault"\n`);
    const r = cli(["run", join(dir, "ok.cr"), "-", "--output", join(dir, "nowhere", "out.bin"), "--plugins", FIXTURE_PLUGINS, "--no-verify"], "x");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot write .*out\.bin: the directory .*nowhere does not exist/);
    expect(r.stderr).not.toMatch(/CANCELLED/);
  });

  it("run and validate: a broken plugin.toml is reported with its own error, not as an unknown plugin", async () => {
    const dir = await mkdtemp(join(tmpdir(), "clawft-cli-"));
    const plugins = join(dir, "plugins");
    await cp(join(FIXTURE_PLUGINS, "fault"), join(plugins, "fault"), { recursive: true });
    await writeFile(join(plugins, "fault", "plugin.toml"), 'name = "fault"\nversion = 1.0.0\n'); // not TOML
    await writeFile(join(dir, "ok.cr"), `[input]\ntype = "text/plain"\n[[nodes]]\nplugin = "fault"\n`);
    for (const args of [["validate", join(dir, "ok.cr")], ["run", join(dir, "ok.cr"), "-"]]) {
      const r = cli([...args, "--plugins", plugins, "--no-verify"], "x");
      expect(r.code, args[0]).toBe(2);
      expect(r.stderr, args[0]).toMatch(/\[BROKEN_MANIFEST\] plugin "fault" has a broken manifest \(.*plugin\.toml\)/);
      expect(r.stderr, args[0]).not.toMatch(/unknown plugin/);
    }
  });
});

describe("configure wizard", () => {
  it("builds a valid orchestration from scripted answers", async () => {
    const host = await PipelineHost.open({ pluginDirs: [PLUGINS], verify: false });
    const answers: unknown[] = ["text/plain", "normalize", false, "speak", true, "en-gb", "150", "50", "600", "mp3", true, 128, "my-book"];
    const asked: string[] = [];
    const next = (message: string) => {
      asked.push(message);
      if (answers.length === 0) throw new Error(`unexpected prompt ${message}`);
      return answers.shift();
    };
    const prompts: Prompts = {
      select: async (o) => {
        const a = next(o.message);
        const c = o.choices.find((x) => x.value === a || (x.value as { id?: string } | null)?.id === a);
        if (!c) throw new Error(`no choice ${String(a)} in ${o.message}`);
        return c.value;
      },
      input: async (o) => {
        const a = String(next(o.message));
        const v = o.validate?.(a);
        if (v !== undefined && v !== true) throw new Error(`invalid answer ${a}: ${String(v)}`);
        return a;
      },
      confirm: async (o) => next(o.message) as boolean,
    };
    const { text } = await configureWizard(host, prompts);
    expect(answers).toEqual([]);
    const o = parseOrchestration(text);
    expect(o.meta.name).toBe("my-book");
    expect(o.nodes).toEqual([
      { id: "normalize", plugin: "normalize", options: {} },
      { id: "speak", plugin: "speak", options: { voice: "en-gb", rate: 150 } },
      { id: "mp3", plugin: "mp3", options: { bitrate: 128 } },
    ]);
    // After mp3 (audio/mpeg) nothing fits, so the wizard stops asking for steps.
    expect(asked.filter((m) => m.endsWith("step:"))).toHaveLength(3);
  });

  it("can be driven in a real terminal (tmux)", async () => {
    const tmux = spawnSync("tmux", ["-V"]);
    if (tmux.error) throw new Error("tmux is not installed (Debian package tmux; .ci/run installs it)");
    const dir = await mkdtemp(join(tmpdir(), "clawft-tmux-"));
    const out = join(dir, "wizard.cr");
    const session = `clawft-${process.pid}`;
    const command = [...CLI, "configure", "--plugins", PLUGINS, "--out", out].map((a) => `'${a}'`).join(" ");
    execFileSync("tmux", ["new-session", "-d", "-s", session, "-x", "160", "-y", "40", `cd '${ROOT}' && ${command}; sleep 30`]);
    const pane = () => execFileSync("tmux", ["capture-pane", "-p", "-t", session], { encoding: "utf8" });
    const waitFor = async (text: string) => {
      for (let i = 0; i < 300; i++) {
        if (pane().includes(text)) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`tmux pane never showed "${text}":\n${pane()}`);
    };
    const keys = (...k: string[]) => execFileSync("tmux", ["send-keys", "-t", session, ...k]);
    try {
      await waitFor("What does the pipeline read?");
      keys("Enter"); // text/plain (the default)
      await waitFor("First step:");
      keys("Enter"); // normalize
      await waitFor("Set options of normalize?");
      keys("n", "Enter");
      await waitFor("Next step:");
      keys("Down", "Down", "Enter"); // done, normalize, [speak]
      await waitFor("Set options of speak?");
      keys("n", "Enter");
      await waitFor("Next step:");
      await new Promise((r) => setTimeout(r, 200));
      keys("Down", "Down", "Enter"); // done, example-python, [mp3]
      await waitFor("Set options of mp3?");
      keys("y", "Enter");
      await waitFor("bitrate");
      keys("Down", "Enter"); // 96 → 112
      await waitFor("Name of this pipeline:");
      keys("C-u", "tmux-made", "Enter");
      await waitFor("saved");
    } finally {
      spawnSync("tmux", ["kill-session", "-t", session]);
    }
    const o = parseOrchestration(await readFile(out, "utf8"));
    expect(o.meta.name).toBe("tmux-made");
    expect(o.nodes.map((n) => [n.plugin, n.options])).toEqual([
      ["normalize", {}],
      ["speak", {}],
      ["mp3", { bitrate: 112 }],
    ]);
  });
});

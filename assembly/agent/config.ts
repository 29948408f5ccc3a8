// clawft.wasm's configuration: `config.json` in the anchor clawft's own format (camelCase or
// snake_case keys; unknown keys ignored, as the native CLI does), or `config.toml` with the
// same keys (the seed plan's format), then environment overrides. docs/agent.md §Config.
//
//   { "agents": { "defaults": { "model": "openai/gpt-4o-mini", "maxTokens": 8192,
//       "temperature": 0.7, "maxToolIterations": 20 } },
//     "providers": { "openai": { "apiKey": "…", "apiBase": null, "extraHeaders": {} } } }
//
// Our additions under agents.defaults: requestTimeoutMs, maxRetries, systemPrompt, stream,
// embeddingModel, embeddingDimensions.

import { JValue, J_NULL, J_NUM, J_STR, J_OBJ, J_BOOL, parseJson, JsonError } from "../json";
import { parseToml, TomlError } from "./toml";
import { readText } from "./host/fs";

/** The wire protocol a provider speaks. */
export const API_OPENAI: i32 = 0; // POST {apiBase}/chat/completions (OpenAI-compatible)
export const API_ANTHROPIC: i32 = 1; // POST {apiBase}/messages (Anthropic Messages)

/** One provider entry: where to send requests and how to authenticate. */
export class Provider {
  constructor(
    public name: string,
    public api: i32,
    public apiBase: string,
    public apiKey: string = "",
    /** Flat name, value, … list of headers added to every request. */
    public extraHeaders: string[] = [],
  ) {}
}

/** Built-in providers: name, default base URL, protocol (the anchor's list, clawft-llm config.rs). */
const BUILTIN_NAMES: string[] = [
  "openrouter", "openai", "anthropic", "deepseek", "groq", "mistral", "together", "gemini", "xai",
  "ollama", "vllm",
];
const BUILTIN_BASES: string[] = [
  "https://openrouter.ai/api/v1", "https://api.openai.com/v1", "https://api.anthropic.com/v1",
  "https://api.deepseek.com/v1", "https://api.groq.com/openai/v1", "https://api.mistral.ai/v1",
  "https://api.together.xyz/v1", "https://generativelanguage.googleapis.com/v1beta/openai",
  "https://api.x.ai/v1", "http://localhost:11434/v1", "http://localhost:8000/v1",
];

/** The effective configuration of a run. */
export class Config {
  /** `provider/model` as configured (or overridden by --model / CLAWFT_MODEL). */
  model: string = "openai/gpt-4o-mini";
  maxTokens: i32 = 8192;
  temperature: f64 = 0.7;
  maxToolIterations: i32 = 20;
  /** Milliseconds allowed for a response's headers, and between two body chunks. */
  requestTimeoutMs: i32 = 120000;
  /** Retries of a request answered 429 or 5xx. */
  maxRetries: i32 = 3;
  systemPrompt: string =
    "You are clawft, an agent running inside a WebAssembly sandbox. Your tools act only inside the " +
    "workspace directory. Every tool call is decided by a contract: a denied call comes back naming " +
    "the guard that denied it; do not retry it unchanged.";
  stream: bool = true;
  /** `provider/model` of the embedding model memory uses; "" embeds in wasm (embed.ts). */
  embeddingModel: string = "";
  /** Dimensions asked of the embedding model; 0 learns them from its first answer. */
  embeddingDimensions: i32 = 0;
  providers: Provider[] = [];
  /** Which file the configuration came from ("" for none). */
  source: string = "";
  /** Value of CLAWFT_API_BASE, which overrides the chosen provider's base URL. */
  apiBaseOverride: string = "";

  /** The provider named `name`, or null. */
  provider(name: string): Provider | null {
    for (let i = 0; i < this.providers.length; i++) if (this.providers[i].name == name) return this.providers[i];
    return null;
  }
}

/** The result of `resolveModel`: the provider to call and the model name it is sent. */
export class Route {
  constructor(public provider: Provider, public model: string) {}
}

/** A configuration error: `message` names the file, the key and the problem. */
export class ConfigError {
  static message: string = "";
}

function bad(key: string, problem: string): bool {
  ConfigError.message = key + ": " + problem;
  return false;
}

function kindName(v: JValue): string {
  switch (v.kind) {
    case J_NULL: return "null";
    case J_BOOL: return "a boolean";
    case J_NUM: return "a number";
    case J_STR: return "a string";
    case J_OBJ: return "an object";
    default: return "an array";
  }
}

/** `camel` or its snake_case twin in object `o`, or null (JSON null counts as absent). */
function member(o: JValue, camel: string): JValue | null {
  let v = o.get(camel);
  if (v === null) {
    let snake = "";
    for (let i = 0; i < camel.length; i++) {
      let c = camel.charCodeAt(i);
      snake += c >= 65 && c <= 90 ? "_" + String.fromCharCode(c + 32) : String.fromCharCode(c);
    }
    v = o.get(snake);
  }
  return v !== null && v.kind == J_NULL ? null : v;
}

function objectAt(o: JValue, key: string, path: string): JValue | null {
  let v = member(o, key);
  if (v === null) return null;
  if (v.kind != J_OBJ) {
    bad(path, "expected an object, got " + kindName(v));
    return JValue.nul();
  }
  return v;
}

function str(o: JValue, key: string, path: string, into: string): string {
  let v = member(o, key);
  if (v === null) return into;
  if (v.kind != J_STR) {
    bad(path, "expected a string, got " + kindName(v));
    return into;
  }
  return v.s;
}

function num(o: JValue, key: string, path: string, into: f64, lo: f64, hi: f64, integer: bool): f64 {
  let v = member(o, key);
  if (v === null) return into;
  if (v.kind != J_NUM) {
    bad(path, "expected a number, got " + kindName(v));
    return into;
  }
  if (integer && Math.floor(v.n) != v.n) {
    bad(path, "expected a whole number, got " + v.n.toString());
    return into;
  }
  if (!(v.n >= lo && v.n <= hi)) {
    bad(path, "must be between " + lo.toString() + " and " + hi.toString() + ", got " + v.n.toString());
    return into;
  }
  return v.n;
}

/** Applies the parsed document `doc` to `c`; false with ConfigError set on a bad key. */
function apply(c: Config, doc: JValue): bool {
  ConfigError.message = "";
  if (doc.kind != J_OBJ) return bad("(top level)", "expected an object, got " + kindName(doc));
  let agents = objectAt(doc, "agents", "agents");
  if (ConfigError.message.length > 0) return false;
  if (agents !== null) {
    let d = objectAt(agents, "defaults", "agents.defaults");
    if (ConfigError.message.length > 0) return false;
    if (d !== null) {
      c.model = str(d, "model", "agents.defaults.model", c.model);
      c.maxTokens = <i32>num(d, "maxTokens", "agents.defaults.maxTokens", c.maxTokens, 1, 1e7, true);
      c.temperature = num(d, "temperature", "agents.defaults.temperature", c.temperature, 0, 2, false);
      c.maxToolIterations = <i32>num(d, "maxToolIterations", "agents.defaults.maxToolIterations", c.maxToolIterations, 0, 1000, true);
      c.requestTimeoutMs = <i32>num(d, "requestTimeoutMs", "agents.defaults.requestTimeoutMs", c.requestTimeoutMs, 1, 3600000, true);
      c.maxRetries = <i32>num(d, "maxRetries", "agents.defaults.maxRetries", c.maxRetries, 0, 20, true);
      c.systemPrompt = str(d, "systemPrompt", "agents.defaults.systemPrompt", c.systemPrompt);
      c.embeddingModel = str(d, "embeddingModel", "agents.defaults.embeddingModel", c.embeddingModel);
      c.embeddingDimensions = <i32>num(d, "embeddingDimensions", "agents.defaults.embeddingDimensions", c.embeddingDimensions, 0, 65536, true);
      let s = member(d, "stream");
      if (s !== null) {
        if (s.kind != J_BOOL) return bad("agents.defaults.stream", "expected a boolean, got " + kindName(s));
        c.stream = s.b;
      }
      if (ConfigError.message.length > 0) return false;
      if (c.model.indexOf("/") <= 0) return bad("agents.defaults.model", "expected \"provider/model\", got \"" + c.model + "\"");
    }
  }
  let ps = objectAt(doc, "providers", "providers");
  if (ConfigError.message.length > 0) return false;
  if (ps !== null) {
    for (let i = 0; i < ps.keys.length; i++) {
      let name = ps.keys[i];
      let path = "providers." + name;
      let p = ps.items[i];
      if (p.kind == J_NULL) continue;
      if (p.kind != J_OBJ) return bad(path, "expected an object, got " + kindName(p));
      let entry = c.provider(name);
      if (entry === null) {
        entry = new Provider(name, name == "anthropic" ? API_ANTHROPIC : API_OPENAI, "");
        c.providers.push(entry);
      }
      entry.apiKey = str(p, "apiKey", path + ".apiKey", entry.apiKey);
      entry.apiBase = str(p, "apiBase", path + ".apiBase", entry.apiBase);
      let api = str(p, "api", path + ".api", entry.api == API_ANTHROPIC ? "anthropic" : "openai");
      if (api != "openai" && api != "anthropic") return bad(path + ".api", "expected \"openai\" or \"anthropic\", got \"" + api + "\"");
      entry.api = api == "anthropic" ? API_ANTHROPIC : API_OPENAI;
      let h = objectAt(p, "extraHeaders", path + ".extraHeaders");
      if (ConfigError.message.length > 0) return false;
      if (h !== null) {
        for (let j = 0; j < h.keys.length; j++) {
          let v = h.items[j];
          if (v.kind != J_STR) return bad(path + ".extraHeaders." + h.keys[j], "expected a string, got " + kindName(v));
          entry.extraHeaders.push(h.keys[j]);
          entry.extraHeaders.push(v.s);
        }
      }
      if (entry.apiBase.length > 0 && !entry.apiBase.startsWith("http://") && !entry.apiBase.startsWith("https://")) {
        return bad(path + ".apiBase", "expected an http:// or https:// URL, got \"" + entry.apiBase + "\"");
      }
      if (ConfigError.message.length > 0) return false;
    }
  }
  return true;
}

/** `text` without a leading U+FEFF (editors on Windows save one; JSON and TOML forbid it). */
function withoutBom(text: string | null): string | null {
  return text !== null && text.length > 0 && text.charCodeAt(0) == 0xFEFF ? text.substring(1) : text;
}

/** A configuration with the built-in providers and nothing read yet. */
export function defaultConfig(): Config {
  let c = new Config();
  for (let i = 0; i < BUILTIN_NAMES.length; i++) {
    let name = BUILTIN_NAMES[i];
    c.providers.push(new Provider(name, name == "anthropic" ? API_ANTHROPIC : API_OPENAI, BUILTIN_BASES[i]));
  }
  return c;
}

/**
 * Loads `config.json` (else `config.toml`) from home, then the environment overrides
 * OPENAI_API_KEY, ANTHROPIC_API_KEY, CLAWFT_MODEL and CLAWFT_API_BASE. Neither file: the
 * defaults. Returns null with ConfigError.message naming the file, key and problem.
 */
export function loadConfig(env: Map<string, string>): Config | null {
  let c = defaultConfig();
  let text = withoutBom(readText("config.json"));
  let file = "config.json";
  let doc: JValue | null = null;
  if (text !== null) {
    doc = parseJson(text!);
    if (doc === null) {
      ConfigError.message = "config.json: not valid JSON at byte " + JsonError.at.toString() + ": " + JsonError.reason;
      return null;
    }
  } else {
    text = withoutBom(readText("config.toml"));
    file = "config.toml";
    if (text !== null) {
      doc = parseToml(text!);
      if (doc === null) {
        ConfigError.message = "config.toml: not valid TOML at line " + TomlError.line.toString() + ": " + TomlError.reason;
        return null;
      }
    }
  }
  if (doc !== null) {
    if (!apply(c, doc!)) {
      ConfigError.message = file + ": " + ConfigError.message;
      return null;
    }
    c.source = file;
  }
  if (env.has("OPENAI_API_KEY")) c.provider("openai")!.apiKey = env.get("OPENAI_API_KEY");
  if (env.has("ANTHROPIC_API_KEY")) c.provider("anthropic")!.apiKey = env.get("ANTHROPIC_API_KEY");
  if (env.has("CLAWFT_MODEL")) {
    let m = env.get("CLAWFT_MODEL");
    if (m.indexOf("/") <= 0) {
      ConfigError.message = "CLAWFT_MODEL: expected \"provider/model\", got \"" + m + "\"";
      return null;
    }
    c.model = m;
  }
  if (env.has("CLAWFT_API_BASE")) c.apiBaseOverride = env.get("CLAWFT_API_BASE");
  return c;
}

/**
 * Chooses the provider for `model` ("prefix/name"): the provider named by the prefix, which is
 * removed before sending; with no such provider, the first with an API key in the built-in
 * order, sent the whole model string (the anchor's rule). Null with ConfigError set when none.
 */
export function resolveModel(c: Config, model: string): Route | null {
  let slash = model.indexOf("/");
  let p: Provider | null = null;
  let name = model;
  if (slash > 0) {
    p = c.provider(model.substring(0, slash));
    if (p !== null) name = model.substring(slash + 1);
  }
  if (p === null) {
    for (let i = 0; i < c.providers.length && p === null; i++) if (c.providers[i].apiKey.length > 0) p = c.providers[i];
  }
  if (p === null) {
    ConfigError.message = "no provider for model \"" + model + "\": name one as provider/model and configure providers.<name>";
    return null;
  }
  let base = c.apiBaseOverride.length > 0 ? c.apiBaseOverride : p.apiBase;
  if (base.length == 0) {
    ConfigError.message = "providers." + p.name + ".apiBase: not set (no built-in default for \"" + p.name + "\")";
    return null;
  }
  while (base.endsWith("/")) base = base.substring(0, base.length - 1);
  return new Route(new Provider(p.name, p.api, base, p.apiKey, p.extraHeaders), name);
}

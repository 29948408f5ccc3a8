/**
 * The playground's agent panel. clawft.wasm does not chat from the page yet, and the panel
 * says why, from what it finds in this browser: preview2-shim's browser `wasi:http` performs
 * requests with `fetch`, so `pollable.block()` returns a Promise instead of blocking, and
 * clawft.wasm's jco glue (build/jco/clawft) calls the agent's `run` synchronously — not through
 * `WebAssembly.promising`, JSPI's entry — so the guest cannot be suspended to wait for it. What the panel does: it sends `GET <endpoint>/models` through that
 * same shim `wasi:http` from the page, so the user sees whether the endpoint answers a browser
 * at all (CORS), and it shows whether this browser has JSPI (`WebAssembly.Suspending`), which a
 * JSPI build of the agent would need.
 * @module
 */
import { outgoingHandler, types } from "@bytecodealliance/preview2-shim/http";

/** What one probe through the shim's wasi:http saw (tests read it). */
export interface ProbeResult {
  url: string;
  /** `pollable.block()` gave a Promise: the shim cannot block a synchronous guest. */
  blockReturnsPromise: boolean;
  /** `future-incoming-response.get()` right after sending: nothing yet (undefined). */
  readyAtOnce: boolean;
  /** HTTP status, once the Promise settled; undefined when the request failed. */
  status?: number;
  /** The first 400 bytes of the body, or the wasi:http error. */
  text: string;
}

/** What the panel exposes on `window.playground.agent`. */
export interface AgentPanel {
  /** Sends `GET <endpoint>/models` through the shim's wasi:http. */
  probe(endpoint: string, apiKey?: string): Promise<ProbeResult>;
  /** Whether this browser has JSPI (WebAssembly.Suspending). */
  jspi: boolean;
}

const utf8 = new TextEncoder();

/** Reads a whole incoming body through wasi:io streams, waiting (asynchronously) when it is empty. */
async function readBody(response: { consume(): { stream(): { read(n: bigint): Uint8Array; subscribe(): { block(): unknown } } } }, limit: number): Promise<Uint8Array> {
  const stream = response.consume().stream();
  const parts: Uint8Array[] = [];
  let total = 0;
  while (total < limit) {
    let chunk: Uint8Array;
    try {
      chunk = stream.read(BigInt(limit - total));
    } catch (e) {
      if ((e as { tag?: string })?.tag === "closed") break;
      throw e;
    }
    if (chunk.length === 0) {
      await stream.subscribe().block();
      continue;
    }
    parts.push(chunk);
    total += chunk.length;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) (out.set(p, at), (at += p.length));
  return out;
}

/** Sends GET `url` through preview2-shim's browser wasi:http, as a guest would, and reports what happened. */
async function probeUrl(url: string, apiKey?: string): Promise<ProbeResult> {
  const u = new URL(url);
  const headers = types.Fields.fromList(apiKey ? [["authorization", utf8.encode(`Bearer ${apiKey}`)]] : []);
  const req = new types.OutgoingRequest(headers);
  req.setScheme({ tag: u.protocol === "https:" ? "HTTPS" : "HTTP" });
  req.setAuthority(u.host);
  req.setPathWithQuery(u.pathname + u.search);
  const future = outgoingHandler.handle(req, undefined);
  const waited = future.subscribe().block() as unknown;
  const blockReturnsPromise = waited instanceof Promise;
  const readyAtOnce = future.get() !== undefined;
  await waited;
  const result = future.get() as { tag: "ok" | "err"; val: { tag: "ok" | "err"; val: unknown } } | undefined;
  if (!result || result.tag !== "ok" || result.val.tag !== "ok") {
    const err = result?.val?.val ?? result?.val ?? "no response";
    return { url, blockReturnsPromise, readyAtOnce, text: `wasi:http error: ${JSON.stringify(err)}` };
  }
  const response = result.val.val as { status(): number; consume(): never };
  const body = await readBody(response, 400);
  return { url, blockReturnsPromise, readyAtOnce, status: response.status(), text: new TextDecoder().decode(body) };
}

/** Fills `el` with the panel; see {@link AgentPanel}. */
export function mountAgentPanel(el: HTMLElement): AgentPanel {
  const jspi = typeof (WebAssembly as unknown as { Suspending?: unknown }).Suspending === "function";
  el.innerHTML = `
<h2>Agent <small>clawft.wasm · OpenAI-compatible endpoint</small></h2>
<form class="row">
  <input name="endpoint" value="http://127.0.0.1:8080/v1" aria-label="endpoint (base URL)">
  <input name="key" type="password" placeholder="API key (optional)" aria-label="API key">
  <button type="submit">probe</button>
</form>
<p class="why"></p>
<pre class="out" role="status"></pre>`;
  el.querySelector(".why")!.textContent =
    "clawft.wasm cannot chat from this page yet. In a browser, preview2-shim's wasi:http sends requests with fetch, so " +
    "pollable.block() returns a Promise instead of blocking, and clawft.wasm's jco glue calls the agent synchronously (not " +
    `through JSPI's WebAssembly.promising): the agent could not wait for its answer. This browser ${jspi ? "has" : "lacks"} JSPI (WebAssembly.Suspending)` +
    `${jspi ? ", which a JSPI build of the agent would use" : ""}; that build, and a home directory for the agent ` +
    "here, are not made yet. Run it with `npx clawft agent chat` (docs/agent.md). Meanwhile “probe” sends GET <endpoint>/models " +
    "through the same wasi:http, showing whether the endpoint answers a browser at all (it must allow CORS).";
  const form = el.querySelector("form")!;
  const out = el.querySelector<HTMLElement>(".out")!;
  const probe = (endpoint: string, apiKey?: string) => probeUrl(`${endpoint.replace(/\/+$/, "")}/models`, apiKey);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const endpoint = el.querySelector<HTMLInputElement>("input[name=endpoint]")!.value;
    const key = el.querySelector<HTMLInputElement>("input[name=key]")!.value || undefined;
    out.textContent = "probing…";
    probe(endpoint, key).then(
      (r) => (out.textContent = `${r.status !== undefined ? `HTTP ${r.status}` : "failed"} · block() returned ${r.blockReturnsPromise ? "a Promise" : "at once"}\n${r.text}`),
      (err: Error) => (out.textContent = `probe failed: ${err.message}`),
    );
  });
  return { probe, jspi };
}

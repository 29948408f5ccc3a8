/**
 * The agent panel's endpoint probe (web/panels/agent.ts loads it on first use): `GET
 * <endpoint>/models` through preview2-shim's browser `wasi:http`, as a guest would send it, so the
 * user sees whether the endpoint answers a browser at all (it must allow the page's origin:
 * CORS) and that the shim's `pollable.block()` answers with a Promise, which is why the agent's
 * browser build needs JSPI.
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

/**
 * Sends GET `url` through preview2-shim's browser wasi:http, as a guest would, and reports what
 * happened: whether `block()` returned a Promise, the status and the first 400 bytes. A failed
 * fetch (refused, CORS) resolves with the wasi:http error in `text`; nothing throws for it.
 */
export async function probeUrl(url: string, apiKey?: string): Promise<ProbeResult> {
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


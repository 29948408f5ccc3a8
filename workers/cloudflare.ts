/**
 * Cloudflare Worker entry: the CLASP codec at the edge. workerd forbids compiling wasm from
 * bytes, so the core module is imported (the bundler keeps `clasp.wasm` as a module of its
 * own) and handed to `ClaspCodec.load`.
 *
 *   POST /decode   body: frames back to back  →  JSON array of decoded frames or errors
 *   POST /encode   body: JSON message         →  the frame (application/octet-stream)
 *
 * JSON as src/clasp/json.ts writes it (bigints, bytes and errors included).
 * @module
 */
import wasm from "../build/clasp.wasm";
import { ClaspCodec } from "../src/clasp/codec.js";
import { toJson, fromJson } from "../src/clasp/json.js";
import type { Message } from "../src/clasp/types.js";

let codec: Promise<ClaspCodec> | undefined;

export default {
  async fetch(request: Request): Promise<Response> {
    codec ??= ClaspCodec.load(wasm);
    const c = await codec;
    const { pathname } = new URL(request.url);
    try {
      if (request.method === "POST" && pathname === "/decode") {
        const frames = c.decodeAll(new Uint8Array(await request.arrayBuffer()));
        return new Response(toJson(frames), { headers: { "content-type": "application/json" } });
      }
      if (request.method === "POST" && pathname === "/encode") {
        const message = fromJson(await request.text()) as Message;
        return new Response(c.encode(message) as Uint8Array<ArrayBuffer>, { headers: { "content-type": "application/octet-stream" } });
      }
      return new Response("POST /decode or /encode\n", { status: 404 });
    } catch (e) {
      return new Response(`${(e as Error).name}: ${(e as Error).message}\n`, { status: 400 });
    }
  },
};

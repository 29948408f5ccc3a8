/**
 * Cloudflare Worker entry: CLASP rooms and the codec at the edge.
 *
 *   GET  /ws/<room>  WebSocket upgrade (subprotocol `clasp`) to the room's Durable Object
 *                    (`ClaspRoom`, bound as `CLASP_ROOMS`; src/cloudflare, docs/cloudflare.md)
 *   POST /decode     body: frames back to back  →  JSON array of decoded frames or errors
 *   POST /encode     body: JSON message         →  the frame (application/octet-stream)
 *
 * JSON as src/clasp/json.ts writes it (bigints, bytes and errors included). workerd forbids
 * compiling wasm from bytes: the cores are imported as modules (src/cloudflare/cores.ts, the
 * first import of src/cloudflare/index.ts, hands the codec's to the loader).
 * @module
 */
import { handleRoomRequest, type RoomsWorkerEnv } from "../src/cloudflare/index.js";
import { codec } from "../src/clasp/index.js";
import { toJson, fromJson } from "../src/clasp/json.js";
import type { Message } from "../src/clasp/types.js";

export { ClaspRoom } from "../src/cloudflare/index.js";

export default {
  async fetch(request: Request, env: RoomsWorkerEnv): Promise<Response> {
    const room = handleRoomRequest(request, env.CLASP_ROOMS);
    if (room) return room;
    const { pathname } = new URL(request.url);
    try {
      if (request.method === "POST" && pathname === "/decode") {
        const frames = codec.decodeAll(new Uint8Array(await request.arrayBuffer()));
        return new Response(toJson(frames), { headers: { "content-type": "application/json" } });
      }
      if (request.method === "POST" && pathname === "/encode") {
        const message = fromJson(await request.text()) as Message;
        return new Response(codec.encode(message) as Uint8Array<ArrayBuffer>, { headers: { "content-type": "application/octet-stream" } });
      }
      return new Response("GET /ws/<room> (WebSocket, subprotocol clasp), POST /decode or /encode\n", { status: 404 });
    } catch (e) {
      return new Response(`${(e as Error).name}: ${(e as Error).message}\n`, { status: 400 });
    }
  },
};

/**
 * `clawft/cloudflare`: CLASP rooms on Cloudflare. Each room is one Durable Object
 * ({@link ClaspRoom}) hosting one wasm MiniRouter behind hibernatable WebSockets; a Worker
 * routes `GET /ws/<room>` upgrades (subprotocol `clasp`) to the room's object.
 *
 * ```ts
 * // src/worker.ts of your Worker (wrangler.jsonc: a CLASP_ROOMS Durable Object binding, docs/cloudflare.md)
 * export { ClaspRoom } from "clawft/cloudflare";
 * import { handleRoomRequest } from "clawft/cloudflare";
 * export default { fetch: (req: Request, env: { CLASP_ROOMS: DurableObjectNamespace }) =>
 *   handleRoomRequest(req, env.CLASP_ROOMS) ?? new Response("not found", { status: 404 }) };
 * ```
 * The cores are imported as wasm modules (workerd compiles no wasm from bytes): bundle with
 * wrangler, whose default rules keep `*.wasm` imports as modules.
 * @module
 */
import "./cores.js"; // first: hands the codec's wasm module to the loader before clawft/clasp is evaluated
import type { DurableObjectNamespace } from "./runtime.js";

export { ClaspRoom, type RoomStatus } from "./room.js";
export { roomConfig, RoomConfigError, type RoomConfig, type RoomEnv } from "./config.js";
export { routerModule } from "./cores.js";
export type { CfWebSocket, DurableObjectNamespace, DurableObjectState, DurableObjectStorage, DurableObjectStub, SqlStorage } from "./runtime.js";

/** Longest room name accepted in `/ws/<room>`, in characters. */
export const MAX_ROOM_NAME = 256;

/**
 * Routes `GET /ws/<room>` to the room's Durable Object (one object per name, `idFromName`).
 * The room name is the URL-decoded path segment, 1 to {@link MAX_ROOM_NAME} characters.
 * @returns the object's response, a 400 for a bad room name, or undefined for any other path
 *   (the caller serves it)
 */
export function handleRoomRequest(request: Request, rooms: DurableObjectNamespace): Promise<Response> | Response | undefined {
  const { pathname } = new URL(request.url);
  if (!pathname.startsWith("/ws/")) return undefined;
  let room: string;
  try {
    room = decodeURIComponent(pathname.slice(4));
  } catch {
    return new Response("room name is not valid percent-encoding\n", { status: 400 });
  }
  if (room.length === 0 || room.length > MAX_ROOM_NAME || room.includes("/")) {
    return new Response(`room name must be 1 to ${MAX_ROOM_NAME} characters without "/"\n`, { status: 400 });
  }
  if (request.method !== "GET") return new Response("GET /ws/<room> with a WebSocket upgrade\n", { status: 405 });
  return rooms.get(rooms.idFromName(room)).fetch(request);
}

/** The environment of the ready-made Worker: the rooms' Durable Object namespace (the rooms themselves read {@link RoomEnv}). */
export interface RoomsWorkerEnv {
  CLASP_ROOMS: DurableObjectNamespace;
}

/**
 * A ready-made Worker: `GET /ws/<room>` to the `CLASP_ROOMS` binding, 404 elsewhere.
 * `export { default, ClaspRoom } from "clawft/cloudflare"` is a whole relay.
 */
const worker = {
  fetch(request: Request, env: RoomsWorkerEnv): Promise<Response> | Response {
    return handleRoomRequest(request, env.CLASP_ROOMS) ?? new Response("GET /ws/<room> (WebSocket, subprotocol clasp)\n", { status: 404 });
  },
};
export default worker;

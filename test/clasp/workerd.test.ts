/**
 * The codec in the Cloudflare Workers runtime: workers/cloudflare.ts, bundled with esbuild,
 * run by workerd (npm `workerd`, the open-source runtime of Cloudflare Workers), decodes the
 * same vectors as Node and encodes frames back. workerd forbids compiling wasm from bytes:
 * the core is imported as a module.
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { decode, encode, type Message } from "../../src/clasp/index.js";
import { toJson, fromJson } from "../../src/clasp/json.js";
import { WorkerdRoom, workerdMissing } from "../cloudflare/workerd.js";
import { VECTORS } from "./wire.js";

describe.skipIf(workerdMissing)(workerdMissing ?? "the codec in workerd", () => {
  let worker: WorkerdRoom | undefined;
  let base = "";

  // The Worker entry that serves the rooms also serves POST /decode and /encode.
  beforeAll(async () => {
    worker = await WorkerdRoom.start();
    base = worker.base;
  });

  afterAll(async () => {
    await worker?.close();
  });

  it("decodes every vector as Node does", async () => {
    for (const v of VECTORS) {
      const res = await fetch(`${base}/decode`, { method: "POST", body: v.bytes as Uint8Array<ArrayBuffer> });
      expect(res.status).toBe(200);
      expect(fromJson(await res.text())).toEqual(fromJson(toJson([decode(v.bytes)])));
    }
  });

  it("reports bad frames as CLASP errors", async () => {
    const res = await fetch(`${base}/decode`, { method: "POST", body: new Uint8Array([0x53, 0x01, 0x00, 0x01, 0x7f]) });
    expect(JSON.parse(await res.text())).toEqual([{ error: { code: 101, offset: 4, reason: "unknown message type" } }]);
  });

  it("encodes the same bytes as Node", async () => {
    const messages: Message[] = [
      { type: "SET", address: "/mixer/1", value: { gain: 0.5, id: 7n, raw: new Uint8Array([1, 2]) }, revision: 3 },
      { type: "BUNDLE", messages: [{ type: "PING" }, { type: "GET", address: "/x" }] },
    ];
    for (const m of messages) {
      const res = await fetch(`${base}/encode`, { method: "POST", body: toJson(m) });
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(encode(m));
    }
  });
});

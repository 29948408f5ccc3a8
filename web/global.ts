/**
 * Entry of `dist/clawft.global.js`, the script-tag build (scripts/global.mjs bundles it with
 * esbuild into one classic script): `<script src="…/clawft.global.js">` defines
 * `window.clawft`, whose `ready` Promise resolves once the cores are loaded, with the faces
 * as namespaces:
 *
 * ```html
 * <script src="https://unpkg.com/clawft/dist/clawft.global.js"></script>
 * <script>
 *   clawft.ready.then(({ clasp, hnsw, clp }) => {
 *     const frame = clasp.encode({ type: "SET", address: "/a", value: 1 });
 *   });
 * </script>
 * ```
 * `clasp` (`clawft/clasp`), `hnsw` (`clawft/hnsw`), `clp` (`clawft/clp`), `client`
 * (`clawft/clasp/client`) and `transports` (WebSocket, MessagePort/BroadcastChannel, Web
 * Serial, Web MIDI). The wasm files lie beside the script and are found from its own URL.
 * @module
 */
import * as clasp from "../src/clasp/index.js";
import * as client from "../src/clasp/client.js";
import * as clp from "../src/clp/index.js";
import * as hnsw from "../src/hnsw/index.js";
import * as transportBase from "../src/transports/index.js";
import * as port from "../src/transports/port.js";
import * as webmidi from "../src/transports/webmidi.js";
import * as webserial from "../src/transports/webserial.js";
import * as websocket from "../src/transports/websocket.js";

/** What `window.clawft` holds once `ready` has resolved. */
export interface ClawftGlobal {
  clasp: typeof clasp;
  client: typeof client;
  clp: typeof clp;
  hnsw: typeof hnsw;
  transports: typeof transportBase & typeof port & typeof webmidi & typeof webserial & typeof websocket;
}

/** Set by scripts/global.mjs's wrapper: the object that becomes `window.clawft`. */
declare const __clawftGlobal: Partial<ClawftGlobal>;

Object.assign(__clawftGlobal, {
  clasp,
  client,
  clp,
  hnsw,
  transports: { ...transportBase, ...port, ...webmidi, ...webserial, ...websocket },
} satisfies ClawftGlobal);

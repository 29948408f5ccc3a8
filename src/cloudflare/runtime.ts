/**
 * The few Cloudflare Workers runtime types the room uses, declared here rather than taken from
 * `@cloudflare/workers-types`, whose globals clash with the DOM and Node types the rest of the
 * package compiles against. Names and shapes are the runtime's (developers.cloudflare.com,
 * "Durable Object State", "WebSocket Hibernation API", "SQL Storage").
 * @module
 */

/** A WebSocket as the Workers runtime has it: `accept` for a socket served without hibernation, attachments for hibernatable ones. */
export interface CfWebSocket {
  accept(): void;
  send(message: ArrayBuffer | ArrayBufferView | string): void;
  close(code?: number, reason?: string): void;
  /** Keeps a structured-clonable value with the socket across hibernation (at most 16 KiB serialized on Cloudflare). */
  serializeAttachment(value: unknown): void;
  /** The value last given to `serializeAttachment`, or null. */
  deserializeAttachment(): unknown;
}

/** One result of `SqlStorage.exec`: rows as objects of column values. */
export interface SqlCursor<Row> extends Iterable<Row> {
  toArray(): Row[];
}

/** A value SQLite returns or binds (BLOB columns come back as ArrayBuffer). */
export type SqlValue = ArrayBuffer | string | number | null;

/** The object's SQLite database (SQLite-backed Durable Objects: `new_sqlite_classes`). Synchronous. */
export interface SqlStorage {
  exec<Row extends Record<string, SqlValue> = Record<string, SqlValue>>(query: string, ...bindings: unknown[]): SqlCursor<Row>;
}

/** A Durable Object's transactional storage: its SQL database and its alarm. */
export interface DurableObjectStorage {
  readonly sql: SqlStorage;
  /** When the object's alarm is set for (ms since the epoch), or null. */
  getAlarm(): Promise<number | null>;
  /** Sets the object's one alarm (ms since the epoch): its `alarm()` runs then, waking it from hibernation if need be. */
  setAlarm(scheduledTime: number): Promise<void>;
  /** Clears the object's alarm. */
  deleteAlarm(): Promise<void>;
}

/** The state a Durable Object class is constructed with. */
export interface DurableObjectState {
  readonly storage: DurableObjectStorage;
  /** Holds every event (requests, WebSocket messages) until `fn` settles. */
  blockConcurrencyWhile<T>(fn: () => Promise<T>): Promise<T>;
  /** Accepts a server socket for the Hibernation API: its events go to the class's `webSocket*` methods. */
  acceptWebSocket(ws: CfWebSocket, tags?: string[]): void;
  /** The hibernatable sockets accepted so far and still open (also after the object woke up). */
  getWebSockets(tag?: string): CfWebSocket[];
}

/** A Durable Object id. */
export interface DurableObjectId {
  toString(): string;
}

/** A Durable Object stub: requests go to the object. */
export interface DurableObjectStub {
  fetch(request: Request): Promise<Response>;
}

/** A Durable Object namespace binding (`durable_objects.bindings` in wrangler's config). */
export interface DurableObjectNamespace {
  idFromName(name: string): DurableObjectId;
  get(id: DurableObjectId): DurableObjectStub;
}

/** `new WebSocketPair()`: the client end goes into the 101 response, the server end stays. */
export interface WebSocketPairLike {
  0: CfWebSocket;
  1: CfWebSocket;
}

/** A new `WebSocketPair` of the runtime (`[client, server]`). */
export function webSocketPair(): WebSocketPairLike {
  return new (globalThis as unknown as { WebSocketPair: new () => WebSocketPairLike }).WebSocketPair();
}

/** A 101 response carrying the client end of a pair (the runtime's `webSocket` response option). */
export function upgradeResponse(client: CfWebSocket, headers: HeadersInit): Response {
  return new Response(null, { status: 101, webSocket: client, headers } as ResponseInit);
}

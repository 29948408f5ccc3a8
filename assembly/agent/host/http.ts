// The HTTP boundary of clawft.wasm: what the agent asks of a host, whichever way the host
// performs it. p2.ts wires wasi:http (host/wasi-http.ts); p1.ts wires HTTP/1.1 over WAMR's
// socket extension, or nothing where the host has no network (node:wasi).
//
// A response is streamed: `send` returns once the status and headers have arrived, and the
// body is pulled chunk by chunk, so an SSE answer can be printed as its tokens arrive.

/** Why a request failed before or while its body arrived (not an HTTP status). */
export const HE_REFUSED: i32 = 1; // the connection was refused or reset
export const HE_TIMEOUT: i32 = 2; // no answer, or no body bytes, within the limit
export const HE_DNS: i32 = 3; // the host name did not resolve
export const HE_TLS: i32 = 4; // the TLS handshake or certificate failed
export const HE_PROTOCOL: i32 = 5; // the peer did not speak HTTP as expected
export const HE_UNSUPPORTED: i32 = 6; // this host cannot make HTTP requests at all
export const HE_URL: i32 = 7; // the URL is not an absolute http(s) URL this host accepts
export const HE_OTHER: i32 = 8; // anything else the host reports

/** A transport-level failure: `kind` is one of the HE_ codes, `message` says it for a person. */
export class HttpError {
  constructor(public kind: i32, public message: string) {}
}

/** One request. `headers` is a flat list: name, value, name, value, … */
export class HttpRequest {
  method: string = "POST";
  url: string = "";
  headers: string[] = [];
  body: ArrayBuffer | null = null;
  /** Milliseconds allowed to connect and receive the status line and headers; 0: the host's default. */
  timeoutMs: u32 = 60000;
  /** Milliseconds allowed between two body chunks; 0: the host's default. */
  idleMs: u32 = 60000;

  /** Adds a header; returns this. */
  header(name: string, value: string): HttpRequest {
    this.headers.push(name);
    this.headers.push(value);
    return this;
  }
}

/** A response whose status and headers have arrived; the body is read with `read`. */
export abstract class HttpResponse {
  status: i32 = 0;
  /** Flat list of header names (lower case) and values. */
  headers: string[] = [];
  /** Set when `read` stopped on a failure rather than at the end of the body. */
  error: HttpError | null = null;

  /** The first value of header `name` (lower case), or null. */
  header(name: string): string | null {
    for (let i = 0; i + 1 < this.headers.length; i += 2) if (this.headers[i] == name) return this.headers[i + 1];
    return null;
  }

  /** The next chunk of the body; null at its end, or on a failure (then `error` is set). */
  abstract read(): ArrayBuffer | null;

  /** Releases the response (a body not read to its end is dropped). */
  abstract close(): void;

  /** Reads the whole remaining body, at most `limit` bytes (more is a HE_PROTOCOL error). */
  readAll(limit: i32 = 16 << 20): ArrayBuffer | null {
    let parts: ArrayBuffer[] = [];
    let total = 0;
    while (true) {
      let c = this.read();
      if (c === null) break;
      total += c.byteLength;
      if (total > limit) {
        this.error = new HttpError(HE_PROTOCOL, "response body over " + limit.toString() + " bytes");
        return null;
      }
      parts.push(c);
    }
    if (this.error !== null) return null;
    let out = new ArrayBuffer(total);
    let at: usize = 0;
    for (let i = 0; i < parts.length; i++) {
      let p = parts[i];
      memory.copy(changetype<usize>(out) + at, changetype<usize>(p), p.byteLength);
      at += p.byteLength;
    }
    return out;
  }
}

/** A way to perform requests; `send` returns null with `Http.error` set on a transport failure. */
export abstract class HttpClient {
  abstract send(req: HttpRequest): HttpResponse | null;
}

/** A client for hosts with no network: every request fails with HE_UNSUPPORTED and `why`. */
export class NoHttp extends HttpClient {
  constructor(public why: string) {
    super();
  }
  send(req: HttpRequest): HttpResponse | null {
    Http.error = new HttpError(HE_UNSUPPORTED, this.why);
    return null;
  }
}

/** The host's client, set by the entry (p1.ts / p2.ts) before the program runs. */
export class Http {
  static client: HttpClient = new NoHttp("this host has no HTTP");
  /** The failure of the last `send` that returned null. */
  static error: HttpError | null = null;
}

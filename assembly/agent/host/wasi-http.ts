// HTTP for clawft.wasm through wasi:http 0.2 (WASI 0.2.12 `wasi:http/types` and
// `wasi:http/outgoing-handler`), the canonical ABI written by hand: resources are i32
// handles, strings and lists are (pointer, length) pairs, and a result with more than one
// flat value comes back through a return area (Component Model "Canonical ABI": flattening,
// MAX_FLAT_RESULTS = 1). Lists the host returns are allocated through `cabi_realloc` and
// freed here once copied.
//
// Timeouts are enforced here with monotonic-clock timers polled beside the response future
// and the body stream (wasi:io/poll), and also asked of the host through request-options; a
// host that refuses or ignores those (preview2-shim's between-bytes timeout only emits an
// event) is still bounded.

import {
  HttpClient, HttpError, HttpRequest, HttpResponse, Http,
  HE_REFUSED, HE_TIMEOUT, HE_DNS, HE_TLS, HE_PROTOCOL, HE_URL, HE_OTHER,
} from "./http";

// @ts-ignore: decorator
@external("wasi:http/types@0.2.12", "[constructor]fields")
declare function fieldsNew(): i32;
// @ts-ignore: decorator
@external("wasi:http/types@0.2.12", "[method]fields.append")
declare function fieldsAppend(self: i32, name: usize, nameLen: usize, value: usize, valueLen: usize, ret: usize): void;
// @ts-ignore: decorator
@external("wasi:http/types@0.2.12", "[method]fields.entries")
declare function fieldsEntries(self: i32, ret: usize): void;
// @ts-ignore: decorator
@external("wasi:http/types@0.2.12", "[resource-drop]fields")
declare function fieldsDrop(self: i32): void;
// @ts-ignore: decorator
@external("wasi:http/types@0.2.12", "[constructor]outgoing-request")
declare function requestNew(headers: i32): i32;
// @ts-ignore: decorator
@external("wasi:http/types@0.2.12", "[method]outgoing-request.set-method")
declare function requestSetMethod(self: i32, tag: i32, other: usize, otherLen: usize): i32;
// @ts-ignore: decorator
@external("wasi:http/types@0.2.12", "[method]outgoing-request.set-scheme")
declare function requestSetScheme(self: i32, some: i32, tag: i32, other: usize, otherLen: usize): i32;
// @ts-ignore: decorator
@external("wasi:http/types@0.2.12", "[method]outgoing-request.set-authority")
declare function requestSetAuthority(self: i32, some: i32, s: usize, len: usize): i32;
// @ts-ignore: decorator
@external("wasi:http/types@0.2.12", "[method]outgoing-request.set-path-with-query")
declare function requestSetPath(self: i32, some: i32, s: usize, len: usize): i32;
// @ts-ignore: decorator
@external("wasi:http/types@0.2.12", "[method]outgoing-request.body")
declare function requestBody(self: i32, ret: usize): void;
// @ts-ignore: decorator
@external("wasi:http/types@0.2.12", "[resource-drop]outgoing-request")
declare function requestDrop(self: i32): void;
// @ts-ignore: decorator
@external("wasi:http/types@0.2.12", "[method]outgoing-body.write")
declare function outBodyWrite(self: i32, ret: usize): void;
// @ts-ignore: decorator
@external("wasi:http/types@0.2.12", "[static]outgoing-body.finish")
declare function outBodyFinish(self: i32, someTrailers: i32, trailers: i32, ret: usize): void;
// @ts-ignore: decorator
@external("wasi:http/types@0.2.12", "[resource-drop]outgoing-body")
declare function outBodyDrop(self: i32): void;
// @ts-ignore: decorator
@external("wasi:http/types@0.2.12", "[constructor]request-options")
declare function optionsNew(): i32;
// @ts-ignore: decorator
@external("wasi:http/types@0.2.12", "[method]request-options.set-connect-timeout")
declare function optionsConnect(self: i32, some: i32, ns: u64): i32;
// @ts-ignore: decorator
@external("wasi:http/types@0.2.12", "[method]request-options.set-first-byte-timeout")
declare function optionsFirstByte(self: i32, some: i32, ns: u64): i32;
// @ts-ignore: decorator
@external("wasi:http/types@0.2.12", "[method]request-options.set-between-bytes-timeout")
declare function optionsBetweenBytes(self: i32, some: i32, ns: u64): i32;
// @ts-ignore: decorator
@external("wasi:http/types@0.2.12", "[method]future-incoming-response.subscribe")
declare function futureSubscribe(self: i32): i32;
// @ts-ignore: decorator
@external("wasi:http/types@0.2.12", "[method]future-incoming-response.get")
declare function futureGet(self: i32, ret: usize): void;
// @ts-ignore: decorator
@external("wasi:http/types@0.2.12", "[resource-drop]future-incoming-response")
declare function futureDrop(self: i32): void;
// @ts-ignore: decorator
@external("wasi:http/types@0.2.12", "[method]incoming-response.status")
declare function responseStatus(self: i32): i32;
// @ts-ignore: decorator
@external("wasi:http/types@0.2.12", "[method]incoming-response.headers")
declare function responseHeaders(self: i32): i32;
// @ts-ignore: decorator
@external("wasi:http/types@0.2.12", "[method]incoming-response.consume")
declare function responseConsume(self: i32, ret: usize): void;
// @ts-ignore: decorator
@external("wasi:http/types@0.2.12", "[resource-drop]incoming-response")
declare function responseDrop(self: i32): void;
// @ts-ignore: decorator
@external("wasi:http/types@0.2.12", "[method]incoming-body.stream")
declare function inBodyStream(self: i32, ret: usize): void;
// @ts-ignore: decorator
@external("wasi:http/types@0.2.12", "[resource-drop]incoming-body")
declare function inBodyDrop(self: i32): void;
// @ts-ignore: decorator
@external("wasi:http/outgoing-handler@0.2.12", "handle")
declare function handle(request: i32, someOptions: i32, options: i32, ret: usize): void;
// @ts-ignore: decorator
@external("wasi:io/streams@0.2.12", "[method]output-stream.blocking-write-and-flush")
declare function outWrite(self: i32, p: usize, len: usize, ret: usize): void;
// @ts-ignore: decorator
@external("wasi:io/streams@0.2.12", "[resource-drop]output-stream")
declare function outDrop(self: i32): void;
// @ts-ignore: decorator
@external("wasi:io/streams@0.2.12", "[method]input-stream.read")
declare function inRead(self: i32, len: u64, ret: usize): void;
// @ts-ignore: decorator
@external("wasi:io/streams@0.2.12", "[method]input-stream.subscribe")
declare function inSubscribe(self: i32): i32;
// @ts-ignore: decorator
@external("wasi:io/streams@0.2.12", "[resource-drop]input-stream")
declare function inDrop(self: i32): void;
// @ts-ignore: decorator
@external("wasi:io/error@0.2.12", "[method]error.to-debug-string")
declare function ioErrorText(self: i32, ret: usize): void;
// @ts-ignore: decorator
@external("wasi:io/error@0.2.12", "[resource-drop]error")
declare function ioErrorDrop(self: i32): void;
// @ts-ignore: decorator
@external("wasi:io/poll@0.2.12", "poll")
declare function pollList(list: usize, len: usize, ret: usize): void;
// @ts-ignore: decorator
@external("wasi:io/poll@0.2.12", "[resource-drop]pollable")
declare function pollableDrop(self: i32): void;
// @ts-ignore: decorator
@external("wasi:clocks/monotonic-clock@0.2.12", "subscribe-duration")
declare function subscribeDuration(ns: u64): i32;

/**
 * The canonical ABI's `realloc`, exported from the core module: the host allocates every
 * string and list it returns here, and the preview1 command adapter takes its own state
 * from it (without this export the adapter would share AssemblyScript's heap start). A
 * zero-sized allocation gets a dangling, aligned non-null pointer and no block, so an empty
 * list needs no `heap.free`.
 */
export function cabi_realloc(old: usize, oldSize: usize, align: usize, newSize: usize): usize {
  if (newSize == 0) {
    if (old != 0 && oldSize != 0) heap.free(old);
    return align;
  }
  return old != 0 && oldSize != 0 ? heap.realloc(old, newSize) : heap.alloc(newSize);
}

/** Return area for results passed through memory (the largest, `future-incoming-response.get`, is 56 bytes). */
const RET: usize = memory.data(64, 8);
/** The borrowed pollables handed to `poll`. */
const POLL_LIST: usize = memory.data(8, 4);
/** Largest `output-stream.blocking-write-and-flush` a host must accept (wasi:io/streams). */
const WRITE_CHUNK: i32 = 4096;
/** Bytes asked of the body stream per read. */
const READ_CHUNK: u64 = 65536;
const NS_PER_MS: u64 = 1000000;
/**
 * How much later than our own timers the host's request-options timeouts are set. Ours name
 * the failure (HE_TIMEOUT); the host's are a backstop, and when they fire first the failure
 * comes back unnamed (preview2-shim destroys the socket: "aborted"). preview2-shim also uses
 * the connect timeout as the socket's idle timeout for the whole exchange, hence max(…).
 */
const HOST_GRACE_MS: u64 = 1000;

/**
 * The cases of wasi:http `error-code`, by discriminant, as the WIT names them. The payload
 * of every case starts 8 bytes after the discriminant (its alignment is that of option<u64>).
 */
const ERROR_CODES: string[] = [
  "DNS-timeout", "DNS-error", "destination-not-found", "destination-unavailable",
  "destination-IP-prohibited", "destination-IP-unroutable", "connection-refused",
  "connection-terminated", "connection-timeout", "connection-read-timeout",
  "connection-write-timeout", "connection-limit-reached", "TLS-protocol-error",
  "TLS-certificate-error", "TLS-alert-received", "HTTP-request-denied",
  "HTTP-request-length-required", "HTTP-request-body-size", "HTTP-request-method-invalid",
  "HTTP-request-URI-invalid", "HTTP-request-URI-too-long", "HTTP-request-header-section-size",
  "HTTP-request-header-size", "HTTP-request-trailer-section-size", "HTTP-request-trailer-size",
  "HTTP-response-incomplete", "HTTP-response-header-section-size", "HTTP-response-header-size",
  "HTTP-response-body-size", "HTTP-response-trailer-section-size", "HTTP-response-trailer-size",
  "HTTP-response-transfer-coding", "HTTP-response-content-coding", "HTTP-response-timeout",
  "HTTP-upgrade-failed", "HTTP-protocol-error", "loop-detected", "configuration-error",
  "internal-error",
];

/** The HE_ kind of error-code case `tag`. */
function kindOf(tag: i32): i32 {
  if (tag <= 2) return HE_DNS; // DNS-timeout, DNS-error, destination-not-found
  if (tag == 4 || tag == 11 || tag == 15) return HE_OTHER; // IP prohibited, connection limit, request denied
  if (tag <= 7) return HE_REFUSED; // unavailable, unroutable, refused, terminated
  if (tag <= 10 || tag == 33) return HE_TIMEOUT; // connection(-read/-write)-timeout, response timeout
  if (tag <= 14) return HE_TLS;
  if (tag >= 18 && tag <= 20) return HE_URL; // method invalid, URI invalid, URI too long
  if (tag <= 36) return HE_PROTOCOL;
  return HE_OTHER; // configuration-error, internal-error
}

/** Reads an `option<string>` at `p`, frees its bytes, returns it ("" for none). */
function takeOptString(p: usize): string {
  if (load<u8>(p) == 0) return "";
  let s = load<u32>(p, 4);
  let n = load<u32>(p, 8);
  let out = String.UTF8.decodeUnsafe(s, n);
  if (n != 0) heap.free(s);
  return out;
}

/**
 * An `error-code` at `p` as an HttpError ("wasi:http <case>[: detail]"), freeing the
 * strings its payload owns (DNS rcode, TLS alert message, field names, codings, internal text).
 */
function takeErrorCode(p: usize): HttpError {
  let tag = <i32>load<u8>(p);
  let at = p + 8;
  let detail = "";
  if (tag == 1 || tag == 24 || tag == 27 || tag == 30 || tag >= 31 && tag <= 32 || tag == 38) detail = takeOptString(at);
  else if (tag == 14) detail = takeOptString(at + 4);
  else if (tag == 22 && load<u8>(at) != 0) detail = takeOptString(at + 4);
  let name = tag < ERROR_CODES.length ? ERROR_CODES[tag] : "error " + tag.toString();
  return new HttpError(kindOf(tag), "wasi:http " + name + (detail.length > 0 ? ": " + detail : ""));
}

/** Sets Http.error and returns null, for `send`'s failure paths. */
function failed(err: HttpError): HttpResponse | null {
  Http.error = err;
  return null;
}

/**
 * Waits until pollable `p` is ready or `ms` milliseconds pass (0: no limit); true when ready.
 * `p` stays owned by the caller; the timer is dropped here.
 */
function waitFor(p: i32, ms: u32): bool {
  let timer = ms > 0 ? subscribeDuration(<u64>ms * NS_PER_MS) : -1;
  store<i32>(POLL_LIST, p);
  store<i32>(POLL_LIST, timer, 4);
  pollList(POLL_LIST, ms > 0 ? 2 : 1, RET);
  let list = <usize>load<u32>(RET);
  let n = load<u32>(RET, 4);
  let ready = false;
  for (let i: u32 = 0; i < n; i++) if (load<u32>(list + (<usize>i << 2)) == 0) ready = true;
  if (n != 0) heap.free(list);
  if (timer >= 0) pollableDrop(timer);
  return ready;
}

/**
 * A stream failure (`stream-error.last-operation-failed`) as an HttpError with the io error's
 * debug text; drops the io error. Not `http-error-code`: preview2-shim 0.26 answers it with a
 * JavaScript Error, which its glue cannot lower (a trap), and Wasmtime gives none for its own
 * between-bytes timeout, whose text says "timeout".
 */
function streamFailure(ioError: i32, what: string): HttpError {
  ioErrorText(ioError, RET);
  let p = <usize>load<u32>(RET), n = load<u32>(RET, 4);
  let text = String.UTF8.decodeUnsafe(p, n);
  if (n != 0) heap.free(p);
  ioErrorDrop(ioError);
  let timedOut = text.indexOf("timeout") >= 0 || text.indexOf("timed out") >= 0;
  return new HttpError(timedOut ? HE_TIMEOUT : HE_PROTOCOL, what + " failed: " + text);
}

/** wasi:http `method` case of `m` (RFC 9110 §9 names, case-sensitive); 9 is `other`. */
function methodTag(m: string): i32 {
  if (m == "GET") return 0;
  if (m == "HEAD") return 1;
  if (m == "POST") return 2;
  if (m == "PUT") return 3;
  if (m == "DELETE") return 4;
  if (m == "CONNECT") return 5;
  if (m == "OPTIONS") return 6;
  if (m == "TRACE") return 7;
  if (m == "PATCH") return 8;
  return 9;
}

/** An absolute http(s) URL split the way wasi:http takes it (RFC 3986 §3). */
class Target {
  constructor(public https: bool, public authority: string, public pathWithQuery: string) {}
}

/** Splits `url` into scheme, authority and path-with-query (fragment dropped); null if it is not one. */
function parseUrl(url: string): Target | null {
  let colon = url.indexOf("://");
  if (colon <= 0) return null;
  let scheme = url.substring(0, colon).toLowerCase();
  if (scheme != "http" && scheme != "https") return null;
  let start = colon + 3;
  let end = start;
  while (end < url.length) {
    let c = url.charCodeAt(end);
    if (c == 47 || c == 63 || c == 35) break; // '/', '?', '#'
    end++;
  }
  let authority = url.substring(start, end);
  if (authority.length == 0 || authority.indexOf("@") >= 0) return null;
  let hash = url.indexOf("#", end);
  let path = url.substring(end, hash < 0 ? url.length : hash);
  if (path.length == 0 || path.charCodeAt(0) != 47) path = "/" + path;
  return new Target(scheme == "https", authority, path);
}

/** Sets the request's authority (`path` false) or path-with-query (`path` true); false when refused. */
function setText(req: i32, s: string, path: bool): bool {
  let b = String.UTF8.encode(s);
  let r = !path
    ? requestSetAuthority(req, 1, changetype<usize>(b), b.byteLength)
    : requestSetPath(req, 1, changetype<usize>(b), b.byteLength);
  return r == 0;
}

/**
 * A wasi:http response: status and headers read, body streamed from its input-stream. The
 * handles are dropped child first (pollable, stream, body, response) by `close`, which
 * `read` calls itself at the end of the body or on a failure.
 */
class WasiHttpResponse extends HttpResponse {
  private ready: i32;

  constructor(private response: i32, private body: i32, private stream: i32, private idleMs: u32) {
    super();
    this.ready = inSubscribe(stream);
  }

  read(): ArrayBuffer | null {
    while (this.stream >= 0) {
      inRead(this.stream, READ_CHUNK, RET);
      if (load<u8>(RET) == 0) {
        let p = <usize>load<u32>(RET, 4);
        let n = <i32>load<u32>(RET, 8);
        if (n > 0) {
          let chunk = new ArrayBuffer(n);
          memory.copy(changetype<usize>(chunk), p, n);
          heap.free(p);
          return chunk;
        }
        if (!waitFor(this.ready, this.idleMs)) {
          this.error = new HttpError(HE_TIMEOUT, "no body bytes within " + this.idleMs.toString() + " ms");
          this.close();
        }
        continue;
      }
      if (load<u8>(RET, 4) == 0) this.error = streamFailure(load<i32>(RET, 8), "reading the response body");
      this.close();
    }
    return null;
  }

  close(): void {
    if (this.stream < 0) return;
    pollableDrop(this.ready);
    inDrop(this.stream);
    inBodyDrop(this.body);
    responseDrop(this.response);
    this.stream = -1;
  }
}

/**
 * HttpClient over wasi:http/outgoing-handler. A request goes out as: fields (headers;
 * `content-length` added for a body unless given), outgoing-request (method, scheme,
 * authority, path-with-query), request-options (connect and first-byte timeouts from
 * `timeoutMs`, between-bytes from `idleMs`, in nanoseconds, each HOST_GRACE_MS after our
 * own timers; a host refusing them is tolerated), `handle`, then the body in pieces of at
 * most 4096 bytes through `blocking-write-and-flush` and `outgoing-body.finish`. `send` returns once the status and
 * headers arrived within `timeoutMs`; failures map error-code cases onto HE_ kinds.
 * Headers the host forbids (hop-by-hop ones such as `host` or `connection`, which the host
 * writes itself) are left out rather than failing the request.
 */
export class WasiHttp extends HttpClient {
  send(req: HttpRequest): HttpResponse | null {
    Http.error = null;
    let target = parseUrl(req.url);
    if (target === null) return failed(new HttpError(HE_URL, "not an absolute http(s) URL without credentials: " + req.url));
    let body = req.body;

    let headers = fieldsNew();
    let hasLength = false;
    let names = req.headers;
    for (let i = 0; i + 1 < names.length; i += 2) {
      let name = names[i].toLowerCase();
      if (name == "content-length") hasLength = true;
      let problem = appendHeader(headers, name, names[i + 1]);
      if (problem != null) {
        fieldsDrop(headers);
        return failed(new HttpError(HE_OTHER, "header " + name + ": " + problem));
      }
    }
    if (body !== null && !hasLength) appendHeader(headers, "content-length", body.byteLength.toString());

    let request = requestNew(headers);
    let tag = methodTag(req.method);
    let m = String.UTF8.encode(req.method);
    let refused = "";
    if (requestSetMethod(request, tag, tag == 9 ? changetype<usize>(m) : 0, tag == 9 ? <usize>m.byteLength : 0) != 0) refused = "method " + req.method;
    else if (requestSetScheme(request, 1, target.https ? 1 : 0, 0, 0) != 0) refused = "scheme";
    else if (!setText(request, target.authority, false)) refused = "authority " + target.authority;
    else if (!setText(request, target.pathWithQuery, true)) refused = "path " + target.pathWithQuery;
    if (refused.length > 0) {
      requestDrop(request);
      return failed(new HttpError(HE_URL, "the host refused the request's " + refused));
    }
    requestBody(request, RET);
    let outBody = load<i32>(RET, 4); // cannot fail: the body is taken once

    let options = optionsNew();
    let longest = <u64>max(req.timeoutMs, req.idleMs);
    if (req.timeoutMs > 0) optionsConnect(options, 1, (longest + HOST_GRACE_MS) * NS_PER_MS);
    if (req.timeoutMs > 0) optionsFirstByte(options, 1, (<u64>req.timeoutMs + HOST_GRACE_MS) * NS_PER_MS);
    if (req.idleMs > 0) optionsBetweenBytes(options, 1, (<u64>req.idleMs + HOST_GRACE_MS) * NS_PER_MS);

    handle(request, 1, options, RET);
    if (load<u8>(RET) != 0) {
      let err = takeErrorCode(RET + 8);
      outBodyDrop(outBody);
      return failed(err);
    }
    let future = load<i32>(RET, 8);

    let problem: HttpError | null = body !== null ? writeBody(outBody, body) : null;
    if (problem === null) {
      outBodyFinish(outBody, 0, 0, RET);
      if (load<u8>(RET) != 0) problem = takeErrorCode(RET + 8);
    } else {
      outBodyDrop(outBody);
    }
    if (problem !== null) {
      futureDrop(future);
      return failed(problem);
    }

    let arrived = futureSubscribe(future);
    let ready = waitFor(arrived, req.timeoutMs);
    pollableDrop(arrived);
    if (!ready) {
      futureDrop(future);
      return failed(new HttpError(HE_TIMEOUT, "no response within " + req.timeoutMs.toString() + " ms"));
    }
    futureGet(future, RET);
    futureDrop(future);
    // option<result<result<incoming-response, error-code>>>: some @0, taken @8, ok @16, value @24
    if (load<u8>(RET) == 0 || load<u8>(RET, 8) != 0) return failed(new HttpError(HE_OTHER, "wasi:http response lost"));
    if (load<u8>(RET, 16) != 0) return failed(takeErrorCode(RET + 24));
    let response = load<i32>(RET, 24);

    let status = responseStatus(response);
    let fields = responseHeaders(response);
    let list = readEntries(fields);
    fieldsDrop(fields);
    responseConsume(response, RET);
    let inBody = load<i32>(RET, 4);
    inBodyStream(inBody, RET);
    let stream = load<i32>(RET, 4);
    let res = new WasiHttpResponse(response, inBody, stream, req.idleMs);
    res.status = status;
    res.headers = list;
    return res;
  }
}

/**
 * Appends one header; null when done or when the host forbids the name (it writes such
 * headers itself), else why it was refused.
 */
function appendHeader(fields: i32, name: string, value: string): string | null {
  let n = String.UTF8.encode(name);
  let v = String.UTF8.encode(value);
  fieldsAppend(fields, changetype<usize>(n), n.byteLength, changetype<usize>(v), v.byteLength, RET);
  if (load<u8>(RET) == 0) return null;
  let why = load<u8>(RET, 1); // header-error: invalid-syntax, forbidden, immutable
  return why == 1 ? null : why == 0 ? "invalid syntax" : "immutable";
}

/** Writes `body` to the outgoing body in pieces of at most WRITE_CHUNK bytes; an error or null. */
function writeBody(outBody: i32, body: ArrayBuffer): HttpError | null {
  outBodyWrite(outBody, RET);
  let stream = load<i32>(RET, 4);
  let err: HttpError | null = null;
  let total = body.byteLength;
  for (let at = 0; at < total && err === null; at += WRITE_CHUNK) {
    outWrite(stream, changetype<usize>(body) + at, min(WRITE_CHUNK, total - at), RET);
    if (load<u8>(RET) != 0) {
      err = load<u8>(RET, 4) == 0
        ? streamFailure(load<i32>(RET, 8), "writing the request body")
        : new HttpError(HE_REFUSED, "the request body stream was closed after " + at.toString() + " bytes");
    }
  }
  outDrop(stream);
  return err;
}

/** The entries of header fields `fields` as [name (lower case), value, …]; frees the host's list. */
function readEntries(fields: i32): string[] {
  fieldsEntries(fields, RET);
  let list = <usize>load<u32>(RET);
  let n = load<u32>(RET, 4);
  let out = new Array<string>(0);
  for (let i: u32 = 0; i < n; i++) {
    let e = list + (<usize>i << 4); // tuple<string, list<u8>>: 16 bytes
    let np = <usize>load<u32>(e), nl = load<u32>(e, 4);
    let vp = <usize>load<u32>(e, 8), vl = load<u32>(e, 12);
    out.push(String.UTF8.decodeUnsafe(np, nl).toLowerCase());
    out.push(String.UTF8.decodeUnsafe(vp, vl));
    if (nl != 0) heap.free(np);
    if (vl != 0) heap.free(vp);
  }
  if (n != 0) heap.free(list);
  return out;
}

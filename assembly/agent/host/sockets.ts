// HTTP/1.1 over WAMR's socket extension (WASI preview1 + `sock_open`, `sock_connect`,
// `sock_addr_resolve`, … in module wasi_snapshot_preview1, as WAMR's libc-wasi defines them:
// core/iwasm/libraries/lib-socket/inc/wasi_socket_ext.h). How build/clawft.wamr.wasm reaches
// an LLM server on the device's network (a LAN Ollama or llama.cpp server); the host allows
// the addresses (`iwasm --addr-pool=…`, `--allow-resolve=…` for names).
//
// Plain http only: the device build has no TLS. One request per connection (`Connection:
// close`). The response head is read whole (RFC 9112 §2–§5: status line, header fields); the
// body is streamed as it arrives, delimited as RFC 9112 §6.3 says: none for HEAD, 1xx, 204
// and 304; `Transfer-Encoding: chunked` decoded (§7.1, extensions ignored, trailers read and
// dropped); else `Content-Length`; else until the server closes. Timeouts: `timeoutMs` covers
// connecting (the socket's send timeout, which Linux applies to connect) and the whole
// response head; `idleMs` each wait for body bytes.

import { sock_recv, sock_send, fd_close, errno } from "bindings/wasi_snapshot_preview1";
import {
  HttpClient, HttpRequest, HttpResponse, HttpError, Http,
  HE_REFUSED, HE_TIMEOUT, HE_DNS, HE_PROTOCOL, HE_UNSUPPORTED, HE_URL, HE_OTHER,
} from "./http";

// WAMR's extension (signatures from its libc_wasi_wrapper.c native table).
// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "sock_open")
declare function sock_open(poolfd: u32, af: u32, socktype: u32, fd: usize): u16;
// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "sock_connect")
declare function sock_connect(fd: u32, addr: usize): u16;
// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "sock_addr_resolve")
declare function sock_addr_resolve(host: usize, service: usize, hints: usize, info: usize, infoCount: u32, maxCount: usize): u16;
// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "sock_set_recv_timeout")
declare function sock_set_recv_timeout(fd: u32, timeoutUs: u64): u16;
// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "sock_set_send_timeout")
declare function sock_set_send_timeout(fd: u32, timeoutUs: u64): u16;

// __wasi_addr_t (wasm32): u32 kind (0 IPv4, 1 IPv6) | IPv4: 4 address bytes, u16 port |
// IPv6: 8 × u16 groups, u16 port; 24 bytes. __wasi_addr_info_t: the address, u32 socket type.
const ADDR_SIZE: usize = 24;
const INFO_SIZE: usize = 28;
const MAX_ADDRS: u32 = 4;
const INET4: u32 = 0;
const INET6: u32 = 1;
const SOCKET_STREAM: u32 = 1;

const HEAD_LIMIT: i32 = 64 * 1024;
const LINE_LIMIT: i32 = 4096;
const RECV_SIZE: i32 = 16384;
const DEFAULT_MS: u32 = 60000;

const SCRATCH: usize = memory.data(16, 8); // iovec, counts and flags
const ADDR: usize = memory.data(<i32>ADDR_SIZE, 8);
const HINTS: usize = memory.data(12, 4);
const INFOS: usize = memory.data(<i32>(INFO_SIZE * MAX_ADDRS), 8);

/** Why the last helper failed; turned into `Http.error` or a response's `error`. */
class Failure {
  static kind: i32 = 0;
  static message: string = "";
}

function failed(kind: i32, message: string): bool {
  Failure.kind = kind;
  Failure.message = message;
  return false;
}

/** A socket error as an HTTP error kind. */
function errnoKind(e: u16): i32 {
  if (e == errno.CONNREFUSED || e == errno.CONNRESET || e == errno.CONNABORTED || e == errno.PIPE) return HE_REFUSED;
  if (e == errno.AGAIN || e == errno.TIMEDOUT) return HE_TIMEOUT;
  return HE_OTHER;
}

function errnoText(e: u16): string {
  if (e == errno.CONNREFUSED) return "connection refused";
  if (e == errno.CONNRESET) return "connection reset";
  if (e == errno.PIPE) return "connection closed by the server";
  if (e == errno.AGAIN || e == errno.TIMEDOUT) return "timed out";
  if (e == errno.ACCES || e == errno.NOTCAPABLE) return "not allowed by the host (WAMR: add the address to --addr-pool)";
  if (e == errno.HOSTUNREACH || e == errno.NETUNREACH) return "host unreachable";
  if (e == errno.NOSYS) return "the host has no socket support";
  return "socket error " + e.toString();
}

/** The parts of an `http://host[:port]/path` URL (RFC 3986 §3). */
class Target {
  host: string = "";
  port: u32 = 80;
  /** Path and query, at least "/". */
  path: string = "/";
  /** The Host header's value (RFC 9112 §3.2): host, and `:port` when it is not 80. */
  authority: string = "";
}

function parseUrl(url: string): Target | null {
  let t = new Target();
  let lower = url.toLowerCase();
  if (lower.startsWith("https://")) {
    failed(HE_UNSUPPORTED, "https is not available: the WAMR build speaks plain http only (use an http:// server on the LAN, or a TLS-terminating proxy)");
    return null;
  }
  if (!lower.startsWith("http://")) {
    failed(HE_URL, "not an absolute http:// URL: " + url);
    return null;
  }
  let rest = url.substring(7);
  let slash = rest.indexOf("/");
  let q = rest.indexOf("?");
  let end = slash < 0 ? q : q < 0 ? slash : min(slash, q);
  let authority = end < 0 ? rest : rest.substring(0, end);
  let path = end < 0 ? "/" : rest.substring(end);
  if (path.startsWith("?")) path = "/" + path;
  let hash = path.indexOf("#");
  if (hash >= 0) path = path.substring(0, hash);
  if (authority.indexOf("@") >= 0) {
    failed(HE_URL, "user information in the URL is not supported: " + url);
    return null;
  }
  let host = authority;
  let portText = "";
  if (authority.startsWith("[")) {
    let close = authority.indexOf("]");
    if (close < 0) {
      failed(HE_URL, "unclosed IPv6 address in " + url);
      return null;
    }
    host = authority.substring(1, close);
    let after = authority.substring(close + 1);
    if (after.length > 0) {
      if (!after.startsWith(":")) {
        failed(HE_URL, "bad authority in " + url);
        return null;
      }
      portText = after.substring(1);
    }
  } else {
    let colon = authority.lastIndexOf(":");
    if (colon >= 0) {
      host = authority.substring(0, colon);
      portText = authority.substring(colon + 1);
    }
  }
  if (host.length == 0) {
    failed(HE_URL, "no host in " + url);
    return null;
  }
  if (portText.length > 0) {
    let port: u32 = 0;
    for (let i = 0; i < portText.length; i++) {
      let d = <u32>portText.charCodeAt(i) - 0x30;
      if (d > 9 || port > 6553) {
        failed(HE_URL, "bad port in " + url);
        return null;
      }
      port = port * 10 + d;
    }
    if (port == 0 || port > 65535) {
      failed(HE_URL, "bad port in " + url);
      return null;
    }
    t.port = port;
  }
  t.host = host;
  t.path = path;
  t.authority = authority;
  return t;
}

/** Writes `a.b.c.d` into the IPv4 address at ADDR + 4; false when `s` is not one. */
function parseIPv4(s: string): bool {
  let parts = s.split(".");
  if (parts.length != 4) return false;
  for (let i = 0; i < 4; i++) {
    let p = parts[i];
    if (p.length == 0 || p.length > 3) return false;
    let v: u32 = 0;
    for (let j = 0; j < p.length; j++) {
      let d = <u32>p.charCodeAt(j) - 0x30;
      if (d > 9) return false;
      v = v * 10 + d;
    }
    if (v > 255) return false;
    store<u8>(ADDR + 4 + <usize>i, <u8>v);
  }
  return true;
}

/** Writes an IPv6 address (RFC 4291 §2.2 text, `::` allowed, no embedded IPv4) at ADDR + 4. */
function parseIPv6(s: string): bool {
  let groups = new Array<u32>();
  let gap = -1;
  let halves = s.split("::");
  if (halves.length > 2) return false;
  for (let h = 0; h < halves.length; h++) {
    if (h == 1) gap = groups.length;
    if (halves[h].length == 0) continue;
    let parts = halves[h].split(":");
    for (let i = 0; i < parts.length; i++) {
      let p = parts[i];
      if (p.length == 0 || p.length > 4) return false;
      let v: u32 = 0;
      for (let j = 0; j < p.length; j++) {
        let c = <u32>p.charCodeAt(j);
        let d: u32 = c >= 0x30 && c <= 0x39 ? c - 0x30 : (c | 0x20) >= 0x61 && (c | 0x20) <= 0x66 ? (c | 0x20) - 0x61 + 10 : 16;
        if (d > 15) return false;
        v = (v << 4) | d;
      }
      groups.push(v);
    }
  }
  if (gap < 0 ? groups.length != 8 : groups.length > 7) return false;
  let out = new Array<u32>(8);
  let tail = groups.length - (gap < 0 ? groups.length : gap);
  let head = groups.length - tail;
  for (let i = 0; i < head; i++) out[i] = groups[i];
  for (let i = 0; i < tail; i++) out[8 - tail + i] = groups[head + i];
  for (let i = 0; i < 8; i++) store<u16>(ADDR + 4 + <usize>i * 2, <u16>out[i]);
  return true;
}

/**
 * Fills ADDR with the server's address: an IP literal directly, a name through the host's
 * resolver (sock_addr_resolve, allowed per name by `--allow-resolve`). Returns the address
 * family, or -1 (`Failure`).
 */
function resolve(t: Target): i32 {
  memory.fill(ADDR, 0, ADDR_SIZE);
  if (parseIPv4(t.host)) {
    store<u32>(ADDR, INET4);
    store<u16>(ADDR + 8, <u16>t.port);
    return <i32>INET4;
  }
  if (t.host.indexOf(":") >= 0) {
    if (!parseIPv6(t.host)) {
      failed(HE_URL, "bad IPv6 address " + t.host);
      return -1;
    }
    store<u32>(ADDR, INET6);
    store<u16>(ADDR + 20, <u16>t.port);
    return <i32>INET6;
  }
  let name = String.UTF8.encode(t.host, true);
  let service = String.UTF8.encode(t.port.toString(), true);
  store<u32>(HINTS, SOCKET_STREAM);
  store<u32>(HINTS, 2, 4); // INET_UNSPEC
  store<u8>(HINTS, 1, 8);
  let e = sock_addr_resolve(changetype<usize>(name), changetype<usize>(service), HINTS, INFOS, MAX_ADDRS, SCRATCH);
  if (e != errno.SUCCESS) {
    failed(HE_DNS, "cannot resolve " + t.host + ": " + (e == errno.ACCES || e == errno.NOTCAPABLE ? "not allowed by the host (WAMR: --allow-resolve=" + t.host + ")" : errnoText(e)));
    return -1;
  }
  let n = min<u32>(load<u32>(SCRATCH), MAX_ADDRS);
  if (n == 0) {
    failed(HE_DNS, t.host + " has no address");
    return -1;
  }
  // The first address; the resolver's order (RFC 6724) is the one to try.
  memory.copy(ADDR, INFOS, ADDR_SIZE);
  let kind = load<u32>(ADDR);
  store<u16>(ADDR + (kind == INET4 ? 8 : 20), <u16>t.port);
  return <i32>kind;
}

/** Sends [p, p + n) whole; false (`Failure`) when the socket fails. */
function sendAll(fd: u32, p: usize, n: usize): bool {
  while (n > 0) {
    store<u32>(SCRATCH, <u32>p);
    store<u32>(SCRATCH, <u32>n, 4);
    let e = sock_send(fd, SCRATCH, 1, 0, SCRATCH + 8);
    if (e != errno.SUCCESS) return failed(errnoKind(e), "sending the request: " + errnoText(e));
    let sent = <usize>load<u32>(SCRATCH, 8);
    if (sent == 0) return failed(HE_REFUSED, "sending the request: connection closed by the server");
    p += sent;
    n -= sent;
  }
  return true;
}

/** Received bytes not yet consumed: [at, len) of `buf`. */
class Inbox {
  buf: ArrayBuffer = new ArrayBuffer(RECV_SIZE);
  at: i32 = 0;
  len: i32 = 0;
  eof: bool = false;

  get available(): i32 {
    return this.len - this.at;
  }

  ptr(i: i32): usize {
    return changetype<usize>(this.buf) + <usize>i;
  }

  /**
   * Receives more bytes, waiting at most `timeoutMs`. Returns false at end of stream (`eof`)
   * or on a failure (`Failure`, `eof` not set).
   */
  fill(fd: u32, timeoutMs: u32): bool {
    if (this.at > 0) {
      memory.copy(this.ptr(0), this.ptr(this.at), <usize>this.available);
      this.len -= this.at;
      this.at = 0;
    }
    if (this.len == this.buf.byteLength) {
      let grown = new ArrayBuffer(this.buf.byteLength * 2);
      memory.copy(changetype<usize>(grown), this.ptr(0), <usize>this.len);
      this.buf = grown;
    }
    sock_set_recv_timeout(fd, <u64>max<u32>(timeoutMs, 1) * 1000);
    store<u32>(SCRATCH, <u32>this.ptr(this.len));
    store<u32>(SCRATCH, <u32>(this.buf.byteLength - this.len), 4);
    let e = sock_recv(fd, SCRATCH, 1, 0, SCRATCH + 8, SCRATCH + 12);
    if (e != errno.SUCCESS) return failed(errnoKind(e), errnoText(e));
    let n = <i32>load<u32>(SCRATCH, 8);
    if (n == 0) {
      this.eof = true;
      return false;
    }
    this.len += n;
    return true;
  }

  /** Index of the first CRLF at or after `from`, or -1. */
  crlf(from: i32): i32 {
    for (let i = max(from, this.at); i + 1 < this.len; i++) {
      if (load<u8>(this.ptr(i)) == 13 && load<u8>(this.ptr(i + 1)) == 10) return i;
    }
    return -1;
  }
}

// Body delimitation.
const BODY_NONE: i32 = 0;
const BODY_LENGTH: i32 = 1;
const BODY_CHUNKED: i32 = 2;
const BODY_CLOSE: i32 = 3;

// Chunked decoding states (RFC 9112 §7.1).
const C_SIZE: i32 = 0;
const C_DATA: i32 = 1;
const C_DATA_END: i32 = 2;
const C_TRAILER: i32 = 3;

/** A response read from a socket; `read` returns body bytes as they arrive. */
class SocketResponse extends HttpResponse {
  fd: u32 = 0;
  open: bool = true;
  inbox: Inbox = new Inbox();
  idleMs: u32 = DEFAULT_MS;
  body: i32 = BODY_CLOSE;
  /** Content-Length bytes, or the current chunk's bytes, still to come. */
  remaining: u64 = 0;
  chunkState: i32 = C_SIZE;
  done: bool = false;

  read(): ArrayBuffer | null {
    while (!this.done && this.error === null) {
      let out = this.take();
      if (out !== null) return out;
      if (this.done || this.error !== null) break;
      if (!this.inbox.fill(this.fd, this.idleMs)) {
        if (!this.inbox.eof) {
          this.error = new HttpError(Failure.kind, (Failure.kind == HE_TIMEOUT ? "no body bytes within " + this.idleMs.toString() + " ms" : "reading the body: " + Failure.message));
        } else if (this.body == BODY_CLOSE) {
          this.done = true;
        } else {
          this.error = new HttpError(HE_PROTOCOL, this.body == BODY_LENGTH ? "the server closed the connection " + this.remaining.toString() + " bytes before the end of the body" : "the server closed the connection inside a chunked body");
        }
      }
    }
    this.close();
    return null;
  }

  /** Decodes what the inbox holds: body bytes (a copy), or null when more input is needed. */
  private take(): ArrayBuffer | null {
    let box = this.inbox;
    if (this.body == BODY_NONE) {
      this.done = true;
      return null;
    }
    if (this.body != BODY_CHUNKED) {
      let n = box.available;
      if (this.body == BODY_LENGTH) {
        if (this.remaining == 0) {
          this.done = true;
          return null;
        }
        n = <i32>min<u64>(<u64>n, this.remaining);
        this.remaining -= <u64>n;
      }
      if (n == 0) return null;
      let out = new ArrayBuffer(n);
      memory.copy(changetype<usize>(out), box.ptr(box.at), <usize>n);
      box.at += n;
      if (this.body == BODY_LENGTH && this.remaining == 0) this.done = true;
      return out;
    }
    // chunked: collect the data of every chunk the inbox completes or starts
    let parts = new Array<ArrayBuffer>();
    let total = 0;
    while (true) {
      if (this.chunkState == C_DATA) {
        let n = <i32>min<u64>(<u64>box.available, this.remaining);
        if (n == 0) break;
        let part = new ArrayBuffer(n);
        memory.copy(changetype<usize>(part), box.ptr(box.at), <usize>n);
        parts.push(part);
        total += n;
        box.at += n;
        this.remaining -= <u64>n;
        if (this.remaining == 0) this.chunkState = C_DATA_END;
        continue;
      }
      let eol = box.crlf(box.at);
      if (eol < 0) {
        if (box.available > LINE_LIMIT) this.error = new HttpError(HE_PROTOCOL, "a chunk-size or trailer line over " + LINE_LIMIT.toString() + " bytes");
        break;
      }
      let line = String.UTF8.decodeUnsafe(box.ptr(box.at), <usize>(eol - box.at));
      box.at = eol + 2;
      if (this.chunkState == C_DATA_END) {
        if (line.length != 0) {
          this.error = new HttpError(HE_PROTOCOL, "chunk data longer than its size");
          break;
        }
        this.chunkState = C_SIZE;
      } else if (this.chunkState == C_SIZE) {
        let semi = line.indexOf(";");
        let size = parseHex((semi >= 0 ? line.substring(0, semi) : line).trim());
        if (size < 0) {
          this.error = new HttpError(HE_PROTOCOL, "bad chunk size \"" + line + "\"");
          break;
        }
        if (size == 0) this.chunkState = C_TRAILER;
        else {
          this.remaining = <u64>size;
          this.chunkState = C_DATA;
        }
      } else if (line.length == 0) {
        this.done = true; // the empty line after the trailers
        break;
      }
    }
    if (total == 0) return null;
    if (parts.length == 1) return parts[0];
    let out = new ArrayBuffer(total);
    let at: usize = 0;
    for (let i = 0; i < parts.length; i++) {
      memory.copy(changetype<usize>(out) + at, changetype<usize>(parts[i]), parts[i].byteLength);
      at += <usize>parts[i].byteLength;
    }
    return out;
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    fd_close(this.fd);
  }
}

/** A chunk size (hex digits, at most 15 of them), or -1. */
function parseHex(s: string): i64 {
  if (s.length == 0 || s.length > 15) return -1;
  let v: i64 = 0;
  for (let i = 0; i < s.length; i++) {
    let c = <u32>s.charCodeAt(i);
    let d: u32 = c >= 0x30 && c <= 0x39 ? c - 0x30 : (c | 0x20) >= 0x61 && (c | 0x20) <= 0x66 ? (c | 0x20) - 0x61 + 10 : 16;
    if (d > 15) return -1;
    v = (v << 4) | <i64>d;
  }
  return v;
}

/** A field name is a token (RFC 9110 §5.1); no control, space or separator characters. */
function isToken(s: string): bool {
  if (s.length == 0) return false;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c <= 32 || c >= 127 || "\"(),/:;<=>?@[\\]{}".indexOf(String.fromCharCode(c)) >= 0) return false;
  }
  return true;
}

/** The request head (RFC 9112 §3): request line, Host, the caller's fields, framing, Connection: close. */
function requestHead(req: HttpRequest, t: Target): string | null {
  let head = req.method + " " + t.path + " HTTP/1.1\r\nhost: " + t.authority + "\r\n";
  let hasLength = false;
  for (let i = 0; i + 1 < req.headers.length; i += 2) {
    let name = req.headers[i];
    let value = req.headers[i + 1];
    if (!isToken(name) || value.indexOf("\r") >= 0 || value.indexOf("\n") >= 0) {
      failed(HE_URL, "header " + name + " is not a valid HTTP field");
      return null;
    }
    let lower = name.toLowerCase();
    if (lower == "host" || lower == "connection" || lower == "transfer-encoding") continue;
    if (lower == "content-length") hasLength = true;
    head += name + ": " + value + "\r\n";
  }
  let body = req.body;
  if (!hasLength && (body !== null || req.method == "POST" || req.method == "PUT" || req.method == "PATCH")) {
    head += "content-length: " + (body === null ? 0 : body.byteLength).toString() + "\r\n";
  }
  return head + "connection: close\r\n\r\n";
}

/**
 * Reads the response head into `res` (status, lower-cased field names, body delimitation),
 * skipping interim 1xx responses; false with `Failure` set when it does not come or is not
 * HTTP/1.x.
 */
function readHead(res: SocketResponse, method: string, deadline: i64, timeoutMs: u32): bool {
  let box = res.inbox;
  while (true) {
    let end = -1;
    while ((end = findHeadEnd(box)) < 0) {
      if (box.available > HEAD_LIMIT) return failed(HE_PROTOCOL, "response head over " + HEAD_LIMIT.toString() + " bytes");
      let left = deadline - Date.now();
      if (left <= 0) return failed(HE_TIMEOUT, "no response head within " + timeoutMs.toString() + " ms");
      if (!box.fill(res.fd, <u32>left)) {
        if (box.eof) return failed(HE_PROTOCOL, box.available == 0 ? "the server closed the connection without a response" : "the server closed the connection inside the response head");
        return failed(Failure.kind, Failure.kind == HE_TIMEOUT ? "no response head within " + timeoutMs.toString() + " ms" : "reading the response: " + Failure.message);
      }
    }
    let text = String.UTF8.decodeUnsafe(box.ptr(box.at), <usize>(end - box.at));
    box.at = end + 4;
    let lines = text.split("\r\n");
    let status = lines[0];
    if (!status.startsWith("HTTP/1.") || status.length < 12 || status.charCodeAt(8) != 0x20) return failed(HE_PROTOCOL, "not an HTTP/1.x status line: \"" + status.substring(0, 80) + "\"");
    let code = 0;
    for (let i = 9; i < 12; i++) {
      let d = status.charCodeAt(i) - 0x30;
      if (d < 0 || d > 9) return failed(HE_PROTOCOL, "bad status code in \"" + status.substring(0, 80) + "\"");
      code = code * 10 + d;
    }
    if (status.length > 12 && status.charCodeAt(12) != 0x20) return failed(HE_PROTOCOL, "bad status line \"" + status.substring(0, 80) + "\"");
    let headers = new Array<string>();
    for (let i = 1; i < lines.length; i++) {
      let line = lines[i];
      let colon = line.indexOf(":");
      if (colon <= 0 || !isToken(line.substring(0, colon))) return failed(HE_PROTOCOL, "bad header line \"" + line.substring(0, 80) + "\"");
      headers.push(line.substring(0, colon).toLowerCase());
      headers.push(line.substring(colon + 1).trim());
    }
    if (code >= 100 && code < 200 && code != 101) continue; // interim (100 Continue, 103 Early Hints)
    res.status = code;
    res.headers = headers;
    return delimit(res, method);
  }
}

/** Index of the CRLFCRLF ending the head, or -1. */
function findHeadEnd(box: Inbox): i32 {
  for (let i = box.at; i + 3 < box.len; i++) {
    if (load<u32>(box.ptr(i)) == 0x0a0d0a0d) return i;
  }
  return -1;
}

/** How the body ends (RFC 9112 §6.3); false for a framing the client must refuse. */
function delimit(res: SocketResponse, method: string): bool {
  let code = res.status;
  if (method == "HEAD" || code < 200 || code == 204 || code == 304) {
    res.body = BODY_NONE;
    return true;
  }
  let te = res.header("transfer-encoding");
  if (te !== null) {
    let codings = te.toLowerCase().split(",");
    if (codings[codings.length - 1].trim() != "chunked" || codings.length > 1) {
      return failed(HE_PROTOCOL, "unsupported transfer-encoding \"" + te + "\" (only chunked)");
    }
    res.body = BODY_CHUNKED;
    return true;
  }
  let cl = res.header("content-length");
  if (cl !== null) {
    let v: u64 = 0;
    if (cl.length == 0 || cl.length > 18) return failed(HE_PROTOCOL, "bad content-length \"" + cl + "\"");
    for (let i = 0; i < cl.length; i++) {
      let d = <u32>cl.charCodeAt(i) - 0x30;
      if (d > 9) return failed(HE_PROTOCOL, "bad content-length \"" + cl + "\"");
      v = v * 10 + <u64>d;
    }
    res.body = BODY_LENGTH;
    res.remaining = v;
    return true;
  }
  res.body = BODY_CLOSE;
  return true;
}

/** HTTP/1.1 over WAMR's sockets: the HttpClient of build/clawft.wamr.wasm. */
export class SocketHttp extends HttpClient {
  send(req: HttpRequest): HttpResponse | null {
    let r = this.perform(req);
    if (r === null) Http.error = new HttpError(Failure.kind, Failure.message);
    return r;
  }

  private perform(req: HttpRequest): SocketResponse | null {
    let t = parseUrl(req.url);
    if (t === null) return null;
    let head = requestHead(req, t);
    if (head === null) return null;
    let timeoutMs = req.timeoutMs > 0 ? req.timeoutMs : DEFAULT_MS;
    let deadline = Date.now() + <i64>timeoutMs;
    let family = resolve(t);
    if (family < 0) return null;
    let e = sock_open(3, <u32>family, SOCKET_STREAM, SCRATCH);
    if (e != errno.SUCCESS) {
      failed(e == errno.NOSYS ? HE_UNSUPPORTED : HE_OTHER, "cannot open a socket: " + errnoText(e));
      return null;
    }
    let res = new SocketResponse();
    res.fd = load<u32>(SCRATCH);
    res.idleMs = req.idleMs > 0 ? req.idleMs : DEFAULT_MS;
    sock_set_send_timeout(res.fd, <u64>timeoutMs * 1000); // Linux bounds connect() by it too
    e = sock_connect(res.fd, ADDR);
    if (e != errno.SUCCESS) {
      res.close();
      failed(errnoKind(e), "connecting to " + t.authority + ": " + errnoText(e));
      return null;
    }
    let headBytes = String.UTF8.encode(head);
    let body = req.body;
    if (!sendAll(res.fd, changetype<usize>(headBytes), <usize>headBytes.byteLength) ||
        (body !== null && !sendAll(res.fd, changetype<usize>(body), <usize>body.byteLength)) ||
        !readHead(res, req.method, deadline, timeoutMs)) {
      res.close();
      return null;
    }
    return res;
  }
}

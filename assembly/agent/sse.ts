// Server-sent events: the event-stream interpretation of the WHATWG HTML standard, §9.2.6
// "Interpreting an event stream" (https://html.spec.whatwg.org/multipage/server-sent-events.html),
// fed by arbitrary chunks of the response body.
//
// Bytes are decoded as the Encoding standard's "UTF-8 decode" does (a leading BOM stripped, each
// ill-formed sequence replaced by U+FFFD), one byte at a time, so a chunk may end anywhere, even
// inside a character or between the CR and LF of a line end. Memory is bounded: a line, or the
// data of one event, longer than `maxLine` bytes stops the parser with `error` set.

/** One dispatched event: its type ("message" unless an `event` field named one), data and last event ID. */
export class SseEvent {
  event: string = "message";
  data: string = "";
  id: string = "";
}

const LF: u16 = 0x0a;
const CR: u16 = 0x0d;

/**
 * UTF-16 code units in a managed buffer grown by doubling (collected with its parser, unlike a
 * heap Region: a parser is made per response).
 */
class Units {
  buf: ArrayBuffer = new ArrayBuffer(256);
  n: usize = 0;

  /** Room for `extra` more units; returns the address of the first free one. */
  room(extra: usize): usize {
    const need = (this.n + extra) << 1;
    if (need > <usize>this.buf.byteLength) {
      let cap = <usize>this.buf.byteLength << 1;
      while (cap < need) cap <<= 1;
      const next = new ArrayBuffer(<i32>cap);
      memory.copy(changetype<usize>(next), changetype<usize>(this.buf), this.n << 1);
      this.buf = next;
    }
    return changetype<usize>(this.buf) + (this.n << 1);
  }

  @inline get ptr(): usize {
    return changetype<usize>(this.buf);
  }
}

/**
 * An incremental event-stream parser. `feed` each chunk of the body as it arrives and handle the
 * events it returns; `end` at the end of the body. After an error (`error` non-empty) it returns
 * no more events.
 */
export class SseParser {
  /** Why parsing stopped ("" while all is well). */
  error: string = "";
  /** The reconnection time of the last valid `retry` field in ms (capped at i32 max), or −1. */
  retry: i32 = -1;
  /** The last event ID buffer: persists across events until an `id` field changes it. */
  lastId: string = "";

  private line: Units = new Units();
  private lineBytes: i32 = 0;
  private data: Units = new Units();
  private dataBytes: i32 = 0;
  private type: string = "";
  private events: SseEvent[] = [];
  private started: bool = false;
  private afterCR: bool = false;
  // The UTF-8 decoder's state (Encoding standard §9.1.1): code point so far, bytes still needed,
  // and the range the next byte must fall in.
  private cp: u32 = 0;
  private need: i32 = 0;
  private lower: u32 = 0x80;
  private upper: u32 = 0xbf;

  /** `maxLine`: the longest line, and the most data one event may carry, in bytes (default 1 MiB). */
  constructor(public maxLine: i32 = 1 << 20) {}

  /**
   * Parses the next chunk of the stream; returns the events it completes (often none). A line
   * (counted with its line end) or one event's data lines over `maxLine` bytes set `error`.
   */
  feed(chunk: ArrayBuffer): SseEvent[] {
    return this.feedBytes(changetype<usize>(chunk), chunk.byteLength);
  }

  /** `feed` for the `len` bytes at `ptr`. */
  feedBytes(ptr: usize, len: i32): SseEvent[] {
    this.events = [];
    for (let i = 0; i < len && this.error.length == 0; i++) {
      if (++this.lineBytes > this.maxLine) this.stop("a line is longer than " + this.maxLine.toString() + " bytes");
      else this.byte(<u32>load<u8>(ptr + i));
    }
    return this.events;
  }

  /**
   * Ends the stream. An event not yet closed by an empty line is dropped (§9.2.6: "If the file
   * ends in the middle of an event, before the final empty line, the incomplete event is not
   * dispatched"), so this returns no events; the parser is then ready for a new stream.
   */
  end(): SseEvent[] {
    const error = this.error;
    this.reset();
    this.error = error;
    return [];
  }

  private reset(): void {
    this.line.n = 0;
    this.lineBytes = 0;
    this.data.n = 0;
    this.dataBytes = 0;
    this.type = "";
    this.lastId = "";
    this.started = false;
    this.afterCR = false;
    this.need = 0;
    this.lower = 0x80;
    this.upper = 0xbf;
  }

  /** Stops for good (events completed before the error are still returned). */
  private stop(reason: string): void {
    this.error = reason;
    this.reset();
  }

  /** One byte through the UTF-8 decoder (the Encoding standard's UTF-8 decoder handler). */
  private byte(b: u32): void {
    if (this.need == 0) {
      if (b < 0x80) this.char(b);
      else if (b >= 0xc2 && b <= 0xdf) {
        this.need = 1;
        this.cp = b & 0x1f;
      } else if (b >= 0xe0 && b <= 0xef) {
        if (b == 0xe0) this.lower = 0xa0;
        else if (b == 0xed) this.upper = 0x9f;
        this.need = 2;
        this.cp = b & 0xf;
      } else if (b >= 0xf0 && b <= 0xf4) {
        if (b == 0xf0) this.lower = 0x90;
        else if (b == 0xf4) this.upper = 0x8f;
        this.need = 3;
        this.cp = b & 7;
      } else this.char(0xfffd);
      return;
    }
    if (b < this.lower || b > this.upper) {
      // The sequence so far is one error; the byte starts afresh.
      this.need = 0;
      this.lower = 0x80;
      this.upper = 0xbf;
      this.char(0xfffd);
      this.byte(b);
      return;
    }
    this.lower = 0x80;
    this.upper = 0xbf;
    this.cp = (this.cp << 6) | (b & 0x3f);
    if (--this.need == 0) this.char(this.cp);
  }

  /** One decoded code point: line ends (CRLF, LF or CR) close lines, the rest collects. */
  private char(c: u32): void {
    if (!this.started) {
      this.started = true;
      if (c == 0xfeff) return;
    }
    if (this.afterCR) {
      this.afterCR = false;
      if (c == LF) return;
    }
    if (c == CR || c == LF) {
      this.afterCR = c == CR;
      this.endLine();
      return;
    }
    const p = this.line.room(2);
    if (c < 0x10000) {
      store<u16>(p, <u16>c);
      this.line.n++;
    } else {
      store<u16>(p, <u16>(0xd800 + ((c - 0x10000) >> 10)));
      store<u16>(p, <u16>(0xdc00 + (c & 0x3ff)), 2);
      this.line.n += 2;
    }
  }

  /** Whether the line's units [0, len) spell the ASCII `name`. */
  private is(len: usize, name: string): bool {
    if (len != <usize>name.length) return false;
    for (let i: usize = 0; i < len; i++) if (load<u16>(this.line.ptr + (i << 1)) != <u16>name.charCodeAt(<i32>i)) return false;
    return true;
  }

  /** §9.2.6: an empty line dispatches, ':' starts a comment, else "field" or "field: value". */
  private endLine(): void {
    const p = this.line.ptr;
    const n = this.line.n;
    const bytes = this.lineBytes;
    this.line.n = 0;
    this.lineBytes = 0;
    if (n == 0) {
      this.dispatch();
      return;
    }
    if (load<u16>(p) == 0x3a) return;
    let colon: usize = 0;
    while (colon < n && load<u16>(p + (colon << 1)) != 0x3a) colon++;
    let v = colon < n ? colon + 1 : n;
    if (v < n && load<u16>(p + (v << 1)) == 0x20) v++;
    const vp = p + (v << 1);
    const vn = n - v;
    if (this.is(colon, "data")) {
      this.dataBytes += bytes;
      if (this.dataBytes > this.maxLine) {
        this.stop("an event's data is longer than " + this.maxLine.toString() + " bytes");
        return;
      }
      const q = this.data.room(vn + 1);
      memory.copy(q, vp, vn << 1);
      store<u16>(q + (vn << 1), LF);
      this.data.n += vn + 1;
    } else if (this.is(colon, "event")) {
      this.type = String.UTF16.decodeUnsafe(vp, vn << 1);
    } else if (this.is(colon, "id")) {
      let nul = false;
      for (let i: usize = 0; i < vn; i++) if (load<u16>(vp + (i << 1)) == 0) nul = true;
      if (!nul) this.lastId = String.UTF16.decodeUnsafe(vp, vn << 1);
    } else if (this.is(colon, "retry")) {
      let ms: i64 = 0;
      for (let i: usize = 0; i < vn; i++) {
        const c = <i64>load<u16>(vp + (i << 1)) - 0x30;
        if (c < 0 || c > 9) return;
        ms = min(ms * 10 + c, <i64>i32.MAX_VALUE);
      }
      if (vn > 0) this.retry = <i32>ms;
    }
  }

  /** §9.2.6 "dispatch the event": only when some data line came; the type resets, the ID stays. */
  private dispatch(): void {
    const d = this.data.n;
    const type = this.type;
    this.data.n = 0;
    this.dataBytes = 0;
    this.type = "";
    if (d == 0) return;
    const ev = new SseEvent();
    if (type.length > 0) ev.event = type;
    ev.data = String.UTF16.decodeUnsafe(this.data.ptr, (d - 1) << 1); // without the last LF
    ev.id = this.lastId;
    this.events.push(ev);
  }
}

// Standard streams of clawft.wasm: text out to stdout/stderr, bytes in from stdin.

import { fd_read, fd_write, errno } from "bindings/wasi_snapshot_preview1";

const IOV: usize = memory.data(16, 8);

/** Writes bytes [p, p + n) to `fd` whole; false when the stream is closed or failing. */
export function writeBytes(fd: u32, p: usize, n: usize): bool {
  while (n > 0) {
    store<u32>(IOV, <u32>p);
    store<u32>(IOV, <u32>n, 4);
    if (fd_write(fd, IOV, 1, IOV + 8) != errno.SUCCESS) return false;
    let w = <usize>load<u32>(IOV, 8);
    if (w == 0) return false;
    p += w;
    n -= w;
  }
  return true;
}

/** Writes `s` to stdout as UTF-8 (no newline added). */
export function out(s: string): void {
  let b = String.UTF8.encode(s);
  writeBytes(1, changetype<usize>(b), b.byteLength);
}

/** Writes `s` and a newline to stdout. */
export function outLine(s: string): void {
  out(s + "\n");
}

/** Writes `s` and a newline to stderr. */
export function errLine(s: string): void {
  let b = String.UTF8.encode(s + "\n");
  writeBytes(2, changetype<usize>(b), b.byteLength);
}

/** Reads stdin in chunks: `read` fills up to `cap` bytes, `line` splits text lines. */
export class Stdin {
  static buf: usize = 0;
  static cap: i32 = 65536;
  static len: i32 = 0;
  static at: i32 = 0;
  static eof: bool = false;

  /** Reads up to `max` bytes into `dst`; returns the count, 0 at end of input. */
  static read(dst: usize, max: i32): i32 {
    if (Stdin.at < Stdin.len) {
      let n = min(max, Stdin.len - Stdin.at);
      memory.copy(dst, Stdin.buf + Stdin.at, n);
      Stdin.at += n;
      return n;
    }
    if (Stdin.eof) return 0;
    store<u32>(IOV, <u32>dst);
    store<u32>(IOV, <u32>max, 4);
    if (fd_read(0, IOV, 1, IOV + 8) != errno.SUCCESS) {
      Stdin.eof = true;
      return 0;
    }
    let n = <i32>load<u32>(IOV, 8);
    if (n == 0) Stdin.eof = true;
    return n;
  }

  /**
   * The next line of stdin without its line ending (LF or CRLF), decoded as UTF-8 once whole
   * (a character split across two reads stays whole); null at end of input.
   */
  static line(): string | null {
    if (Stdin.buf == 0) Stdin.buf = heap.alloc(Stdin.cap);
    let acc: usize = 0;
    let accLen = 0;
    let accCap = 0;
    let any = false;
    while (true) {
      if (Stdin.at == Stdin.len) {
        if (Stdin.eof) break;
        store<u32>(IOV, <u32>Stdin.buf);
        store<u32>(IOV, <u32>Stdin.cap, 4);
        if (fd_read(0, IOV, 1, IOV + 8) != errno.SUCCESS) Stdin.len = 0;
        else Stdin.len = <i32>load<u32>(IOV, 8);
        Stdin.at = 0;
        if (Stdin.len == 0) {
          Stdin.eof = true;
          break;
        }
      }
      any = true;
      let start = Stdin.at;
      let i = start;
      while (i < Stdin.len && load<u8>(Stdin.buf + i) != 10) i++;
      let n = i - start;
      if (accLen + n > accCap) {
        accCap = max(max(accLen + n, accCap * 2), 256);
        acc = acc == 0 ? heap.alloc(accCap) : heap.realloc(acc, accCap);
      }
      memory.copy(acc + accLen, Stdin.buf + start, n);
      accLen += n;
      if (i < Stdin.len) {
        Stdin.at = i + 1;
        return Stdin.take(acc, accLen);
      }
      Stdin.at = Stdin.len;
    }
    return any ? Stdin.take(acc, accLen) : null;
  }

  /** Decodes and frees the line bytes [p, p + n), dropping a final CR. */
  private static take(p: usize, n: i32): string {
    if (n > 0 && load<u8>(p + n - 1) == 13) n--;
    let s = String.UTF8.decodeUnsafe(p, n);
    if (p != 0) heap.free(p);
    return s;
  }
}

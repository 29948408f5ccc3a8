// Files under $CLAWFT_HOME through WASI preview1 (in the component build the preview1
// adapter maps these calls to wasi:filesystem). Every path here is relative to the home
// directory, '/'-separated; the host's preopen is the sandbox, and nothing here follows a
// symbolic link unless asked to.
//
// $CLAWFT_HOME names a preopened directory (or a folder inside one); without it the first
// preopen is home. Failures return null/false and leave the WASI errno in `Fs.errno`.

import {
  fd_prestat_get, fd_prestat_dir_name, path_open, fd_read, fd_write, fd_close, fd_readdir,
  path_create_directory, path_rename, path_filestat_get, path_unlink_file, fd_filestat_get,
  lookupflags, oflags, fdflags, filetype, filestat, prestat, errno, errnoToString,
} from "bindings/wasi_snapshot_preview1";

/** Rights asked for every file opened here: every file and directory right (bits 0–26), none of the
 * socket rights (poll_fd_readwrite, sock_shutdown), which a preopen does not pass on (uvwasi
 * refuses the open with ENOTCAPABLE). */
const ALL_RIGHTS: u64 = 0x07FFFFFF;

const SCRATCH: usize = memory.data(64, 8);

/** A directory entry: `dir` true for a directory, `link` true for a symbolic link. */
export class DirEntry {
  constructor(public name: string, public dir: bool, public link: bool) {}
}

/** What `stat` tells: the file type (WASI `filetype`) and size in bytes. */
export class Stat {
  constructor(public type: u8, public size: u64) {}
  get isDir(): bool { return this.type == filetype.DIRECTORY; }
  get isFile(): bool { return this.type == filetype.REGULAR_FILE; }
  get isLink(): bool { return this.type == filetype.SYMBOLIC_LINK; }
}

/** The home directory: a preopen fd and the path inside it ("" or "sub/dir/"). */
export class Fs {
  static fd: i32 = -1;
  static prefix: string = "";
  /** Where home is, as the host named it (for messages). */
  static home: string = "";
  /** errno of the last failure. */
  static errno: u16 = 0;

  /** A person's words for the last failure: "<op> <path>: <errno name>". */
  static describe(op: string, path: string): string {
    return op + " " + path + ": " + errnoToString(Fs.errno);
  }
}

/** Name of preopen `fd`, or null when `fd` is not a preopened directory (preopens are fds 3, 4, …). */
function preopenName(fd: i32): string | null {
  if (fd_prestat_get(fd, changetype<prestat>(SCRATCH)) != errno.SUCCESS) return null;
  if (load<u8>(SCRATCH) != 0) return null;
  let n = load<u32>(SCRATCH, 4);
  let buf = heap.alloc(n + 1);
  let ok = fd_prestat_dir_name(fd, buf, n) == errno.SUCCESS;
  let name = ok ? String.UTF8.decodeUnsafe(buf, n) : null;
  heap.free(buf);
  return name;
}

function trimSlashes(s: string): string {
  let a = 0, b = s.length;
  while (a < b && s.charCodeAt(a) == 47) a++;
  while (b > a && s.charCodeAt(b - 1) == 47) b--;
  return s.substring(a, b);
}

/** `p` without a trailing slash (except "/" itself). */
function bare(p: string): string {
  return p.length > 1 && p.endsWith("/") ? p.substring(0, p.length - 1) : p;
}

/**
 * Finds home: the preopen named by `home` (a preopen's own name, or a path below one; the
 * longest such name wins), or the first preopen when `home` is empty. A relative `home` may
 * also lie below a preopen named ".". Returns an error text, or null on success.
 */
export function openHome(home: string): string | null {
  let want = bare(home);
  let first = -1;
  let best = -1;
  let bestName = "";
  for (let fd = 3; ; fd++) {
    let name = preopenName(fd);
    if (name === null) break;
    let n = bare(name!);
    if (first < 0) first = fd;
    if (want.length == 0) break;
    let under = n == "/" ? want.startsWith("/") : want == n || (want.startsWith(n) && want.charCodeAt(n.length) == 47);
    if (n == "." && !want.startsWith("/")) under = true;
    if (under && (best < 0 || (bestName == "." && n != ".") || (n != "." && n.length > bestName.length))) {
      best = fd;
      bestName = n;
    }
  }
  if (first < 0) return "no preopened directory: give the host one (wasmtime --dir, iwasm --dir) and set CLAWFT_HOME to it";
  Fs.home = home;
  if (want.length == 0) {
    Fs.fd = first;
    Fs.prefix = "";
    return null;
  }
  if (best < 0) return "CLAWFT_HOME=" + home + " is not inside a preopened directory";
  Fs.fd = best;
  let rest = bestName == "." ? (want == "." ? "" : trimSlashes(want.startsWith("./") ? want.substring(2) : want)) : trimSlashes(want.substring(bestName.length));
  Fs.prefix = rest.length > 0 ? rest + "/" : "";
  return null;
}

/** The path inside the preopen of home-relative `rel`. */
function full(rel: string): string {
  let r = trimSlashes(rel);
  if (Fs.prefix.length == 0) return r.length > 0 ? r : ".";
  return r.length > 0 ? Fs.prefix + r : Fs.prefix.substring(0, Fs.prefix.length - 1);
}

/** Rights that make uvwasi open a directory for writing, which it refuses (EISDIR). */
const WRITE_RIGHTS: u64 = 0x400141; // fd_datasync, fd_write, fd_allocate, fd_filestat_set_size

function open(rel: string, follow: bool, how: u16, flags: u16): i32 {
  let p = String.UTF8.encode(full(rel));
  let base = how & oflags.DIRECTORY ? ALL_RIGHTS & ~WRITE_RIGHTS : ALL_RIGHTS;
  let e = path_open(
    Fs.fd, follow ? lookupflags.SYMLINK_FOLLOW : 0, changetype<usize>(p), p.byteLength,
    how, base, ALL_RIGHTS, flags, SCRATCH,
  );
  Fs.errno = e;
  return e == errno.SUCCESS ? <i32>load<u32>(SCRATCH) : -1;
}

/** Type and size of `rel`; a symbolic link is reported as one unless `follow`. Null if absent. */
export function stat(rel: string, follow: bool = false): Stat | null {
  let p = String.UTF8.encode(full(rel));
  let st = heap.alloc(64);
  let e = path_filestat_get(Fs.fd, follow ? lookupflags.SYMLINK_FOLLOW : 0, changetype<usize>(p), p.byteLength, changetype<filestat>(st));
  Fs.errno = e;
  let r: Stat | null = e == errno.SUCCESS ? new Stat(load<u8>(st, 16), load<u64>(st, 32)) : null;
  heap.free(st);
  return r;
}

/** Reads all of `rel` (symbolic links not followed); null when it cannot, or is over `limit` bytes. */
export function readFile(rel: string, limit: u64 = 64 << 20): ArrayBuffer | null {
  let fd = open(rel, false, 0, 0);
  if (fd < 0) return null;
  let st = heap.alloc(64);
  let size: u64 = 0;
  if (fd_filestat_get(fd, changetype<filestat>(st)) == errno.SUCCESS) size = load<u64>(st, 32);
  heap.free(st);
  if (size > limit) {
    fd_close(fd);
    Fs.errno = errno.FBIG;
    return null;
  }
  let cap = <i32>size + 1;
  let buf = heap.alloc(cap);
  let len = 0;
  let iov = heap.alloc(16);
  while (true) {
    if (len == cap) {
      if (<u64>cap * 2 > limit + 1) { Fs.errno = errno.FBIG; len = -1; break; }
      cap <<= 1;
      buf = heap.realloc(buf, cap);
    }
    store<u32>(iov, <u32>(buf + len));
    store<u32>(iov, <u32>(cap - len), 4);
    let e = fd_read(fd, iov, 1, iov + 8);
    if (e != errno.SUCCESS) { Fs.errno = e; len = -1; break; }
    let n = <i32>load<u32>(iov, 8);
    if (n == 0) break;
    len += n;
  }
  heap.free(iov);
  fd_close(fd);
  if (len < 0) {
    heap.free(buf);
    return null;
  }
  let out = new ArrayBuffer(len);
  memory.copy(changetype<usize>(out), buf, len);
  heap.free(buf);
  return out;
}

/** Reads `rel` as UTF-8 text; null when it cannot be read. */
export function readText(rel: string): string | null {
  let b = readFile(rel);
  return b === null ? null : String.UTF8.decode(b!);
}

function writeAll(fd: i32, p: usize, n: usize): bool {
  let iov = heap.alloc(16);
  let ok = true;
  while (n > 0) {
    store<u32>(iov, <u32>p);
    store<u32>(iov, <u32>n, 4);
    let e = fd_write(fd, iov, 1, iov + 8);
    if (e != errno.SUCCESS) { Fs.errno = e; ok = false; break; }
    let w = <usize>load<u32>(iov, 8);
    p += w;
    n -= w;
  }
  heap.free(iov);
  return ok;
}

/**
 * Replaces `rel` with `data` atomically: the bytes go to `rel.tmp`, which is then renamed over
 * `rel`, so a crash leaves the old file or the new one, never half of one.
 */
export function writeFile(rel: string, data: ArrayBuffer): bool {
  let tmp = rel + ".tmp";
  let fd = open(tmp, false, oflags.CREAT | oflags.TRUNC, 0);
  if (fd < 0) return false;
  let ok = writeAll(fd, changetype<usize>(data), data.byteLength);
  fd_close(fd);
  if (!ok) return false;
  let a = String.UTF8.encode(full(tmp));
  let b = String.UTF8.encode(full(rel));
  let e = path_rename(Fs.fd, changetype<usize>(a), a.byteLength, Fs.fd, changetype<usize>(b), b.byteLength);
  Fs.errno = e;
  return e == errno.SUCCESS;
}

/** Writes `text` to `rel` as UTF-8, atomically (see writeFile). */
export function writeText(rel: string, text: string): bool {
  return writeFile(rel, String.UTF8.encode(text));
}

/**
 * Appends `data` to `rel` (created if absent) in one write with O_APPEND, so a line goes in
 * whole or, on a crash mid-write, cut at its end only.
 */
export function appendFile(rel: string, data: ArrayBuffer): bool {
  let fd = open(rel, false, oflags.CREAT, fdflags.APPEND);
  if (fd < 0) return false;
  let ok = writeAll(fd, changetype<usize>(data), data.byteLength);
  fd_close(fd);
  return ok;
}

/** Creates directory `rel` and its missing parents; true when it exists afterwards. */
export function mkdirs(rel: string): bool {
  let parts = trimSlashes(rel).split("/");
  let at = "";
  for (let i = 0; i < parts.length; i++) {
    if (parts[i].length == 0) continue;
    at = at.length > 0 ? at + "/" + parts[i] : parts[i];
    let s = stat(at);
    if (s !== null) {
      if (!s.isDir) { Fs.errno = errno.NOTDIR; return false; }
      continue;
    }
    let p = String.UTF8.encode(full(at));
    let e = path_create_directory(Fs.fd, changetype<usize>(p), p.byteLength);
    if (e != errno.SUCCESS && e != errno.EXIST) { Fs.errno = e; return false; }
  }
  return true;
}

/** Removes file `rel`; true when it is gone. */
export function removeFile(rel: string): bool {
  let p = String.UTF8.encode(full(rel));
  let e = path_unlink_file(Fs.fd, changetype<usize>(p), p.byteLength);
  Fs.errno = e;
  return e == errno.SUCCESS || e == errno.NOENT;
}

/** The entries of directory `rel` (without "." and ".."), in the host's order; null if it cannot. */
export function listDir(rel: string): DirEntry[] | null {
  let fd = open(rel, false, oflags.DIRECTORY, 0);
  if (fd < 0) return null;
  let out: DirEntry[] = [];
  let cap = 4096;
  let buf = heap.alloc(cap);
  let cookie: u64 = 0;
  let used = heap.alloc(8);
  let ok = true;
  while (true) {
    let e = fd_readdir(fd, buf, cap, cookie, used);
    if (e != errno.SUCCESS) { Fs.errno = e; ok = false; break; }
    let n = <usize>load<u32>(used);
    let at: usize = 0;
    let progressed = false;
    while (at + 24 <= n) {
      let namlen = <usize>load<u32>(buf + at, 16);
      if (at + 24 + namlen > n) break;
      let type = load<u8>(buf + at, 20);
      cookie = load<u64>(buf + at);
      let name = String.UTF8.decodeUnsafe(buf + at + 24, namlen);
      if (name != "." && name != "..") {
        out.push(new DirEntry(name, type == filetype.DIRECTORY, type == filetype.SYMBOLIC_LINK));
      }
      at += 24 + namlen;
      progressed = true;
    }
    if (n < <usize>cap) break;
    if (!progressed) {
      cap <<= 1;
      buf = heap.realloc(buf, cap);
    }
  }
  heap.free(used);
  heap.free(buf);
  fd_close(fd);
  return ok ? out : null;
}

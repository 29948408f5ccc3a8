// read_file, write_file, list_directory: files inside $CLAWFT_HOME/workspace/ only.
//
// A path is relative to the workspace, '/'-separated. Refused before the contract sees it: an
// absolute path, a backslash or control character, a `..` that climbs above the workspace,
// and any symbolic link on the way (every existing component is checked with a stat that does
// not follow links; the final open follows none either). `a/../b` is fine: it is `b`.
// The agent's own records under the workspace (audit.log, audit.torn, contract/, memory/,
// sessions/) may be read and listed but never written by a tool, whatever the contract says:
// the audit and the contract's state must not be the model's to change.

import { errno, errnoToString } from "bindings/wasi_snapshot_preview1";
import { stat, readFile, writeFile, mkdirs, listDir, DirEntry, Fs } from "../host/fs";
import { Tool, Param, Call, ToolResult, P_STRING } from "./tool";
import { utf8 } from "../clasp";

/** The workspace, relative to $CLAWFT_HOME. */
export const WORKSPACE = "workspace";
/** read_file returns at most this many bytes (1 MiB). */
export const MAX_READ: u64 = 1 << 20;
/** write_file writes at most this many bytes (4 MiB), whatever the contract allows. */
export const MAX_WRITE: f64 = 4194304;
/** list_directory shows at most this many entries. */
export const MAX_LIST: i32 = 1000;
/** Longest path a tool accepts (UTF-8 bytes), and longest segment. */
const MAX_PATH: i32 = 4096;
const MAX_SEGMENT: i32 = 255;
/** Top-level workspace names that hold the agent's own records. */
const RESERVED = ["audit.log", "audit.torn", "contract", "memory", "sessions"];

/** The home-relative path of workspace-relative `path`. */
function home(path: string): string {
  return path.length > 0 ? WORKSPACE + "/" + path : WORKSPACE;
}

/**
 * Resolves the model's `path` into `c.path` and `c.segments` (see the file comment); with
 * `file`, the path must name something below the workspace, not the workspace itself.
 * Returns the reason for a refusal, or null.
 */
export function resolve(c: Call, path: string, file: bool): string | null {
  if (path.startsWith("/")) return "absolute paths are refused: give a path relative to the workspace";
  if (utf8(path).byteLength > MAX_PATH) return "the path is longer than " + MAX_PATH.toString() + " bytes";
  for (let i = 0; i < path.length; i++) {
    let ch = path.charCodeAt(i);
    if (ch == 0x5c) return "backslashes are refused: separate path segments with /";
    if (ch < 0x20 || ch == 0x7f) return "control characters are refused in paths";
  }
  let segs: string[] = [];
  let parts = path.split("/");
  for (let i = 0; i < parts.length; i++) {
    let s = parts[i];
    if (s.length == 0 || s == ".") continue;
    if (s == "..") {
      if (segs.length == 0) return "the path leaves the workspace (\"..\" above it)";
      segs.pop();
      continue;
    }
    if (utf8(s).byteLength > MAX_SEGMENT) return "a path segment is longer than " + MAX_SEGMENT.toString() + " bytes";
    segs.push(s);
  }
  if (file && segs.length == 0) return "the path names the workspace itself, not a file in it";
  c.segments = segs;
  c.path = segs.join("/");
  c.hasPath = true;
  // every existing component must be a directory or (the last) a file, never a link
  let at = WORKSPACE;
  for (let i = 0; i < segs.length; i++) {
    at += "/" + segs[i];
    let st = stat(at, false);
    if (st === null) {
      if (Fs.errno == errno.NOENT) break;
      return "cannot look at " + segs.slice(0, i + 1).join("/") + ": " + errnoText();
    }
    if (st.isLink) return "the path goes through a symbolic link (" + segs.slice(0, i + 1).join("/") + "): links are refused, they could lead out of the workspace";
    if (i < segs.length - 1 && !st.isDir) return segs.slice(0, i + 1).join("/") + " is not a directory";
  }
  return null;
}

/** True when `c.path` is one of the agent's own records (see RESERVED). */
function reserved(c: Call): bool {
  let segs = c.segments!;
  return segs.length > 0 && RESERVED.includes(segs[0]);
}

/** read_file {path}: the text of a file in the workspace. */
export class ReadFile extends Tool {
  constructor() {
    super("read_file", "Read a UTF-8 text file in the workspace (at most 1 MiB).", [
      new Param("path", P_STRING, true, "Path of the file, relative to the workspace (e.g. notes/todo.md)."),
    ]);
  }

  prepare(c: Call): string | null {
    return resolve(c, c.str("path"), true);
  }

  run(c: Call): ToolResult {
    let rel = home(c.path);
    let st = stat(rel, false);
    if (st === null) return ToolResult.fail("cannot read " + c.path + ": " + errnoText());
    if (st.isDir) return ToolResult.fail(c.path + " is a directory: use list_directory");
    if (!st.isFile) return ToolResult.fail(c.path + " is not a regular file");
    if (st.size > MAX_READ) return ToolResult.fail(c.path + " is " + st.size.toString() + " bytes; read_file returns at most " + MAX_READ.toString());
    let b = readFile(rel, MAX_READ);
    if (b === null) return ToolResult.fail("cannot read " + c.path + ": " + errnoText());
    let p = changetype<usize>(b);
    for (let i = 0; i < b.byteLength; i++) {
      if (load<u8>(p + i) == 0) return ToolResult.fail(c.path + " is a binary file (" + b.byteLength.toString() + " bytes): not shown");
    }
    return ToolResult.ok(String.UTF8.decode(b));
  }
}

/** write_file {path, content}: creates or replaces a file in the workspace (atomically). */
export class WriteFile extends Tool {
  constructor() {
    super("write_file", "Create or replace a UTF-8 text file in the workspace; missing directories are created.", [
      new Param("path", P_STRING, true, "Path of the file, relative to the workspace."),
      new Param("content", P_STRING, true, "The whole new content of the file.", 0, MAX_WRITE),
    ]);
  }

  prepare(c: Call): string | null {
    let r = resolve(c, c.str("path"), true);
    if (r !== null) return r;
    if (reserved(c)) return c.segments![0] + " holds the agent's own records (audit log, contract state, memory, sessions): tools may not write there";
    c.bytes = <f64>utf8(c.str("content")).byteLength;
    return null;
  }

  run(c: Call): ToolResult {
    let segs = c.segments!;
    if (segs.length > 1 && !mkdirs(home(segs.slice(0, segs.length - 1).join("/")))) {
      return ToolResult.fail("cannot create the directories of " + c.path + ": " + errnoText());
    }
    let rel = home(c.path);
    let st = stat(rel, false);
    if (st !== null && !st.isFile) return ToolResult.fail(c.path + " exists and is not a regular file");
    let bytes = utf8(c.str("content"));
    if (!writeFile(rel, bytes)) return ToolResult.fail("cannot write " + c.path + ": " + errnoText());
    return ToolResult.ok("wrote " + bytes.byteLength.toString() + " bytes to " + c.path);
  }
}

/** list_directory {path?}: the entries of a directory in the workspace. */
export class ListDirectory extends Tool {
  constructor() {
    super("list_directory", "List a directory in the workspace: directories end in /, files show their size.", [
      new Param("path", P_STRING, false, "Directory relative to the workspace; the workspace itself when absent."),
    ]);
  }

  prepare(c: Call): string | null {
    return resolve(c, c.str("path"), false);
  }

  run(c: Call): ToolResult {
    let rel = home(c.path);
    let list = listDir(rel);
    let shown = c.path.length > 0 ? c.path : "the workspace";
    if (list === null) return ToolResult.fail("cannot list " + shown + ": " + errnoText());
    list.sort((a: DirEntry, b: DirEntry): i32 => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (list.length == 0) return ToolResult.ok(shown + " is empty");
    let lines: string[] = [];
    for (let i = 0; i < list.length && i < MAX_LIST; i++) {
      let e = list[i];
      if (e.dir) lines.push(e.name + "/");
      else if (e.link) lines.push(e.name + " (symbolic link, not followed)");
      else {
        let st = stat(rel + "/" + e.name, false);
        lines.push(st !== null ? e.name + " (" + st.size.toString() + " bytes)" : e.name);
      }
    }
    if (list.length > MAX_LIST) lines.push("… and " + (list.length - MAX_LIST).toString() + " more");
    return ToolResult.ok(lines.join("\n"));
  }
}

/** The last WASI error in words (the common ones spelled out for the model, others by their WASI name). */
function errnoText(): string {
  let e = Fs.errno;
  if (e == errno.NOENT) return "no such file or directory";
  if (e == errno.ACCES || e == errno.PERM || e == errno.NOTCAPABLE) return "permission denied";
  if (e == errno.NOTDIR) return "a component of the path is not a directory";
  if (e == errno.ISDIR) return "is a directory";
  if (e == errno.NOSPC) return "no space left on the device";
  if (e == errno.LOOP) return "a symbolic link is in the way";
  return errnoToString(e);
}

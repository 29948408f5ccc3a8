// Chat sessions in the anchor clawft's layout and format (clawft-core session.rs), so a session
// written by the native CLI can be continued here and the reverse:
//
//   workspace/sessions/<url-encoded key>.jsonl
//   line 1:  {"_type":"metadata","created_at":ISO,"updated_at":ISO,"metadata":{},"last_consolidated":0}
//   then:    {"role":"user"|"assistant"|…,"content":"…","timestamp":ISO}   one message a line
//
// Messages are appended as whole lines (one write each, O_APPEND). A line cut by a crash, or
// any line that is not a message, is skipped with a warning; nothing before it is lost.

import { JValue, J_OBJ, J_STR, parseJson, stringify } from "../json";
import { appendFile, mkdirs, readText, stat } from "./host/fs";
import { errLine } from "./host/io";
import { isoNow } from "./host/time";

const DIR = "workspace/sessions";

/** One stored message. */
export class SessionMessage {
  constructor(public role: string, public content: string, public timestamp: string) {}
}

/**
 * Percent-encodes `key` for a file name: every byte of its UTF-8 except A–Z a–z 0–9 - _ . ~
 * becomes %XX (RFC 3986 unreserved set, as the anchor's `urlencoding::encode`).
 */
export function encodeKey(key: string): string {
  let b = String.UTF8.encode(key);
  let p = changetype<usize>(b);
  let hex = "0123456789ABCDEF";
  let out = "";
  for (let i = 0; i < b.byteLength; i++) {
    let c = <i32>load<u8>(p + i);
    let plain = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 45 || c == 95 || c == 46 || c == 126;
    out += plain ? String.fromCharCode(c) : "%" + hex.charAt(c >> 4) + hex.charAt(c & 15);
  }
  return out;
}

/** A session: its key, file and messages so far. */
export class Session {
  messages: SessionMessage[] = [];
  /** Lines passed over while loading (torn or not a message). */
  skipped: i32 = 0;
  /** The file ends inside a line (a torn write): the next append starts a new line first. */
  torn: bool = false;

  constructor(public key: string, public file: string) {}

  /**
   * Opens session `key`: loads its messages, or creates the file with its metadata line.
   * Returns null with `Session.error` set when the file cannot be written.
   */
  static open(key: string): Session | null {
    let s = new Session(key, DIR + "/" + encodeKey(key) + ".jsonl");
    let text = readText(s.file);
    if (text === null) {
      if (stat(s.file) !== null) {
        Session.error = "cannot read " + s.file;
        return null;
      }
      if (!mkdirs(DIR)) {
        Session.error = "cannot create " + DIR;
        return null;
      }
      let now = isoNow();
      let meta = JValue.object()
        .set("_type", JValue.string("metadata"))
        .set("created_at", JValue.string(now))
        .set("updated_at", JValue.string(now))
        .set("metadata", JValue.object())
        .set("last_consolidated", JValue.number(0));
      if (!appendFile(s.file, String.UTF8.encode(stringify(meta) + "\n"))) {
        Session.error = "cannot write " + s.file;
        return null;
      }
      return s;
    }
    s.torn = text!.length > 0 && !text!.endsWith("\n");
    let lines = text!.split("\n");
    for (let i = 0; i < lines.length; i++) {
      let line = lines[i];
      if (line.trim().length == 0) continue;
      let v = parseJson(line);
      if (v === null || v.kind != J_OBJ) {
        s.skipped++;
        errLine("clawft: warning: " + s.file + " line " + (i + 1).toString() + " is not a whole JSON line (skipped)");
        continue;
      }
      if (v.has("_type")) continue;
      let role = v.get("role");
      let content = v.get("content");
      if (role === null || role.kind != J_STR || content === null || content.kind != J_STR) {
        s.skipped++;
        errLine("clawft: warning: " + s.file + " line " + (i + 1).toString() + " is not a message (skipped)");
        continue;
      }
      s.messages.push(new SessionMessage(role.s, content.s, v.str("timestamp")));
    }
    return s;
  }

  static error: string = "";

  /** Appends one message as a whole line; false when it could not be written. */
  append(role: string, content: string): bool {
    let m = new SessionMessage(role, content, isoNow());
    let line = JValue.object()
      .set("role", JValue.string(m.role))
      .set("content", JValue.string(m.content))
      .set("timestamp", JValue.string(m.timestamp));
    let text = (this.torn ? "\n" : "") + stringify(line) + "\n";
    if (!appendFile(this.file, String.UTF8.encode(text))) return false;
    this.torn = false;
    this.messages.push(m);
    return true;
  }
}

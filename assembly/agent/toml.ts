// TOML 1.0.0 (https://toml.io/en/v1.0.0) into the JSON value tree of assembly/json: tables and
// inline tables become objects, arrays arrays, strings strings, integers and floats numbers (f64:
// integers beyond ±2^53 lose precision, as in JavaScript; inf and nan stay non-finite), booleans
// booleans, and the four date-time kinds strings holding their text as written.
//
// Everything TOML 1.0 forbids is an error with its line: a key or table defined twice, a table
// extended after an inline table or static array closed it, integers outside i64, malformed
// numbers, strings and date-times, control characters, a bare CR. TOML 1.1 additions (\x and \e
// escapes, times without seconds, newlines in inline tables) are refused. Arrays and inline tables
// nest at most MAX_DEPTH deep, so no input overflows the stack.

import { JValue, J_ARR, J_OBJ, parseNumber } from "../json";

/** Why the last parseToml call failed: the 1-based line and what is wrong there. */
export class TomlError {
  static line: i32 = 0;
  static reason: string = "";
}

/** Deepest nesting of arrays and inline tables in one value. */
const MAX_DEPTH: i32 = 128;

// How a table or array came to be; what may still be done to it (toml.io v1.0.0 §Table, §Array
// of Tables). A table with no flag was created implicitly by a header ([a.b] creates a) and may
// still be defined once by its own header.
const F_HEADER: i32 = 1; // defined by a [header]
const F_DOTTED: i32 = 2; // created by a dotted key: only dotted keys may extend it
const F_CLOSED: i32 = 4; // an inline table or a static array: complete as written
const F_AOT: i32 = 8; // an array of tables ([[header]])

/**
 * Parses a TOML 1.0.0 document into an object. Returns null on the first error, with
 * TomlError.line and TomlError.reason set.
 */
export function parseToml(text: string): JValue | null {
  const p = new TomlParser(text);
  const v = p.document();
  if (v === null) {
    let line = 1;
    for (let i = 0; i < p.errAt && i < text.length; i++) if (text.charCodeAt(i) == 0x0a) line++;
    TomlError.line = line;
    TomlError.reason = p.reason;
  }
  return v;
}

@inline function isDigit(c: i32): bool {
  return c >= 0x30 && c <= 0x39;
}

/** A character a bare key may hold: A-Z a-z 0-9 _ - (TOML 1.0 §Keys). */
function isBare(c: i32): bool {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || isDigit(c) || c == 0x5f || c == 0x2d;
}

/** A control character TOML forbids in strings and comments (all but tab). */
@inline function isControl(c: i32): bool {
  return (c < 0x20 && c != 0x09) || c == 0x7f;
}

function hexValue(c: i32): i32 {
  if (isDigit(c)) return c - 0x30;
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x66 ? l - 0x57 : -1;
}

class TomlParser {
  i: i32 = 0;
  n: i32;
  reason: string = "";
  errAt: i32 = 0;
  root: JValue = JValue.object();
  /** The table key/value lines go into: the root, or the last header's. */
  cur: JValue = this.root;
  /** F_* flags by table or array address (u32 keys: the same Map instance type memory.ts uses). */
  flags: Map<u32, i32> = new Map();
  depth: i32 = 0;

  constructor(private s: string) {
    this.n = s.length;
  }

  /** Records the first error (at the current position); returns false for the caller to pass on. */
  fail(reason: string): bool {
    if (this.reason.length == 0) {
      this.reason = reason;
      this.errAt = this.i;
    }
    return false;
  }

  /** `fail` for functions that return a value: records the error, returns null. */
  error<T>(reason: string): T | null {
    this.fail(reason);
    return null;
  }

  peek(o: i32 = 0): i32 {
    const j = this.i + o;
    return j < this.n ? this.s.charCodeAt(j) : -1;
  }

  flag(v: JValue): i32 {
    const k = changetype<u32>(v);
    return this.flags.has(k) ? this.flags.get(k) : 0;
  }

  /** Sets the F_* flags of a table or array (alive in the tree, so its address is stable). */
  mark(v: JValue, f: i32): void {
    this.flags.set(changetype<u32>(v), f);
  }

  ws(): void {
    while (true) {
      const c = this.peek();
      if (c != 0x20 && c != 0x09) return;
      this.i++;
    }
  }

  /** At a newline (LF or CRLF): steps over it. A CR without LF is an error. */
  newline(): bool {
    const c = this.peek();
    if (c == 0x0a) {
      this.i++;
      return true;
    }
    if (c == 0x0d && this.peek(1) == 0x0a) {
      this.i += 2;
      return true;
    }
    return false;
  }

  /**
   * At a character that is not ASCII: steps over it if it is a whole UTF-16 character (a lone
   * surrogate cannot come from UTF-8, which TOML requires).
   */
  unicode(): bool {
    const c = this.peek();
    if ((c & 0xf800) != 0xd800) {
      this.i++;
      return true;
    }
    if (c < 0xdc00 && (this.peek(1) & 0xfc00) == 0xdc00) {
      this.i += 2;
      return true;
    }
    return this.fail("invalid Unicode (a lone surrogate)");
  }

  /** A comment from '#' to the end of the line (the newline is left). */
  comment(): bool {
    this.i++;
    while (true) {
      const c = this.peek();
      if (c < 0 || c == 0x0a || (c == 0x0d && this.peek(1) == 0x0a)) return true;
      if (isControl(c)) return this.fail("control character in a comment");
      if (c >= 0x80) {
        if (!this.unicode()) return false;
      } else this.i++;
    }
  }

  /** After an expression: spaces, maybe a comment, then a newline or the end. */
  endOfLine(): bool {
    this.ws();
    if (this.peek() == 0x23 && !this.comment()) return false;
    if (this.peek() < 0 || this.newline()) return true;
    return this.fail("expected the end of the line, found '" + String.fromCharCode(this.peek()) + "'");
  }

  document(): JValue | null {
    while (true) {
      this.ws();
      const c = this.peek();
      if (c < 0) return this.root;
      if (c == 0x23) {
        if (!this.comment()) return null;
        continue;
      }
      if (c == 0x0a || c == 0x0d) {
        if (!this.newline()) return this.error<JValue>("bare carriage return");
        continue;
      }
      if (c == 0x5b ? !this.header() : !this.keyval(this.cur)) return null;
      if (!this.endOfLine()) return null;
    }
  }

  /** A key: bare or quoted parts joined by dots, spaces around the dots allowed (§Keys). */
  key(parts: string[]): bool {
    while (true) {
      this.ws();
      const c = this.peek();
      let k: string | null = null;
      if (c == 0x22 || c == 0x27) {
        if (this.peek(1) == c && this.peek(2) == c) return this.fail("a multi-line string cannot be a key");
        k = this.str();
        if (k === null) return false;
      } else {
        const start = this.i;
        while (isBare(this.peek())) this.i++;
        if (this.i == start) return this.fail(c < 0 || c == 0x0a || c == 0x0d ? "expected a key" : "expected a key, found '" + String.fromCharCode(c) + "'");
        k = this.s.substring(start, this.i);
      }
      parts.push(k);
      this.ws();
      if (this.peek() != 0x2e) return true;
      this.i++;
    }
  }

  /** `[a.b]` or `[[a.b]]`: makes the named table (or a new element of the array) current. */
  header(): bool {
    this.i++;
    const aot = this.peek() == 0x5b;
    if (aot) this.i++;
    const parts: string[] = [];
    if (!this.key(parts)) return false;
    if (this.peek() != 0x5d || (aot && this.peek(1) != 0x5d)) return this.fail(aot ? "expected ']]'" : "expected ']'");
    this.i += aot ? 2 : 1;
    let t = this.root;
    const last = parts.length - 1;
    for (let k = 0; k < last; k++) {
      const child = t.get(parts[k]);
      if (child === null) {
        const next = JValue.object();
        t.set(parts[k], next);
        t = next;
        continue;
      }
      const f = this.flag(child);
      if (child.kind == J_OBJ && (f & F_CLOSED) == 0) t = child;
      else if (child.kind == J_ARR && (f & F_AOT) != 0) t = child.items[child.items.length - 1];
      else return this.fail("'" + parts[k] + "' is not a table that can be extended");
    }
    const name = parts[last];
    const child = t.get(name);
    if (aot) {
      let arr: JValue;
      if (child === null) {
        arr = JValue.array();
        this.mark(arr, F_AOT);
        t.set(name, arr);
      } else if (child.kind == J_ARR && (this.flag(child) & F_AOT) != 0) arr = child;
      else return this.fail("'" + name + "' is already defined and is not an array of tables");
      const table = JValue.object();
      this.mark(table, F_HEADER);
      arr.push(table);
      this.cur = table;
      return true;
    }
    if (child === null) {
      const table = JValue.object();
      this.mark(table, F_HEADER);
      t.set(name, table);
      this.cur = table;
      return true;
    }
    if (child.kind == J_OBJ && this.flag(child) == 0) {
      this.mark(child, F_HEADER);
      this.cur = child;
      return true;
    }
    return this.fail("table '" + name + "' is defined twice");
  }

  /** `key = value` into table `t`; dotted keys create (or extend) tables made by dotted keys. */
  keyval(t: JValue): bool {
    const parts: string[] = [];
    if (!this.key(parts)) return false;
    if (this.peek() != 0x3d) return this.fail("expected '=' after a key");
    this.i++;
    this.ws();
    const v = this.value();
    if (v === null) return false;
    const last = parts.length - 1;
    for (let k = 0; k < last; k++) {
      const child = t.get(parts[k]);
      if (child === null) {
        const next = JValue.object();
        this.mark(next, F_DOTTED);
        t.set(parts[k], next);
        t = next;
      } else if (child.kind == J_OBJ && this.flag(child) == F_DOTTED) t = child;
      else return this.fail("'" + parts[k] + "' is already defined and cannot be extended by a dotted key");
    }
    if (t.has(parts[last])) return this.fail("key '" + parts[last] + "' is defined twice");
    t.keys.push(parts[last]);
    t.items.push(v);
    return true;
  }

  value(): JValue | null {
    const c = this.peek();
    if (c == 0x22 || c == 0x27) {
      const s = this.str();
      return s === null ? null : JValue.string(s);
    }
    if (c == 0x5b || c == 0x7b) {
      if (this.depth >= MAX_DEPTH) return this.error<JValue>("arrays and inline tables nest deeper than " + MAX_DEPTH.toString());
      this.depth++;
      const v = c == 0x5b ? this.array() : this.inlineTable();
      this.depth--;
      return v;
    }
    if (this.word("true")) return JValue.boolean(true);
    if (this.word("false")) return JValue.boolean(false);
    if (isDigit(c) && isDigit(this.peek(1))) {
      if (isDigit(this.peek(2)) && isDigit(this.peek(3)) && this.peek(4) == 0x2d) return this.dateTime();
      if (this.peek(2) == 0x3a) return this.dateTime();
    }
    if (isDigit(c) || c == 0x2b || c == 0x2d || c == 0x69 || c == 0x6e) return this.number();
    if (c < 0 || c == 0x0a || c == 0x0d || c == 0x23) return this.error<JValue>("expected a value");
    return this.error<JValue>("expected a value, found '" + String.fromCharCode(c) + "'");
  }

  word(w: string): bool {
    for (let k = 0; k < w.length; k++) if (this.peek(k) != w.charCodeAt(k)) return false;
    this.i += w.length;
    return true;
  }

  /** `[ v, v, ]`: newlines and comments allowed between values, a trailing comma too. */
  array(): JValue | null {
    this.i++;
    const arr = JValue.array();
    this.mark(arr, F_CLOSED);
    while (true) {
      if (!this.blank()) return null;
      if (this.peek() == 0x5d) {
        this.i++;
        return arr;
      }
      const v = this.value();
      if (v === null) return null;
      arr.push(v);
      if (!this.blank()) return null;
      const c = this.peek();
      this.i++;
      if (c == 0x5d) return arr;
      if (c != 0x2c) {
        this.i--;
        return this.error<JValue>("expected ',' or ']' in an array");
      }
    }
  }

  /** Spaces, newlines and comments (inside arrays). */
  blank(): bool {
    while (true) {
      this.ws();
      const c = this.peek();
      if (c == 0x23) {
        if (!this.comment()) return false;
      } else if (c == 0x0a || c == 0x0d) {
        if (!this.newline()) return this.fail("bare carriage return");
      } else return true;
    }
  }

  /** `{ k = v, k.l = v }` on one line, no trailing comma (TOML 1.0 §Inline Table); closed after. */
  inlineTable(): JValue | null {
    this.i++;
    const t = JValue.object();
    this.ws();
    if (this.peek() == 0x7d) {
      this.i++;
      this.mark(t, F_CLOSED);
      return t;
    }
    while (true) {
      if (!this.keyval(t)) return null;
      this.ws();
      const c = this.peek();
      if (c == 0x7d) {
        this.i++;
        this.mark(t, F_CLOSED);
        return t;
      }
      if (c != 0x2c) return this.error<JValue>("expected ',' or '}' in an inline table");
      this.i++;
    }
  }

  /** An escape after '\' in a basic string (§String): its text, or null. */
  escape(): string | null {
    const e = this.peek(1);
    this.i += 2;
    if (e == 0x62) return "\b";
    if (e == 0x74) return "\t";
    if (e == 0x6e) return "\n";
    if (e == 0x66) return "\f";
    if (e == 0x72) return "\r";
    if (e == 0x22) return "\"";
    if (e == 0x5c) return "\\";
    if (e == 0x75 || e == 0x55) {
      const len = e == 0x75 ? 4 : 8;
      let cp = 0;
      for (let k = 0; k < len; k++) {
        const h = hexValue(this.peek());
        if (h < 0) return this.error<string>("\\" + String.fromCharCode(e) + " needs " + len.toString() + " hex digits");
        cp = (cp << 4) | h;
        this.i++;
      }
      // Unicode scalar values only: no surrogates, nothing past U+10FFFF (checked unsigned: 8 hex digits may set the sign bit).
      if (<u32>cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return this.error<string>("escape of a code point that is not a Unicode scalar value");
      return String.fromCodePoint(cp);
    }
    this.i -= 2;
    return this.error<string>("invalid escape '\\" + (e < 0 ? "" : String.fromCharCode(e)) + "'");
  }

  /**
   * A string at its opening quote (§String): basic "…" with escapes, literal '…' without, each
   * also multi-line between triple quotes. In a multi-line string a newline right after the
   * opening quotes is dropped, one or two quotes may precede the closing three, line ends are kept
   * as written (LF or CRLF), and in a basic one a backslash ending a line drops the line end and
   * all whitespace after it.
   */
  str(): string | null {
    const q = this.peek();
    const basic = q == 0x22;
    const multi = this.peek(1) == q && this.peek(2) == q;
    this.i += multi ? 3 : 1;
    if (multi) this.newline();
    let out = "";
    let from = this.i;
    while (true) {
      const c = this.peek();
      if (c < 0 || (!multi && (c == 0x0a || c == 0x0d))) return this.error<string>("unterminated string");
      if (c == q) {
        if (!multi) {
          out += this.s.substring(from, this.i);
          this.i++;
          return out;
        }
        if (this.peek(1) == q && this.peek(2) == q) {
          let extra = 0;
          while (extra < 2 && this.peek(3 + extra) == q) extra++;
          out += this.s.substring(from, this.i + extra);
          this.i += 3 + extra;
          return out;
        }
        this.i++;
      } else if (basic && c == 0x5c) {
        out += this.s.substring(from, this.i);
        let j = this.i + 1;
        while (j < this.n && (this.s.charCodeAt(j) == 0x20 || this.s.charCodeAt(j) == 0x09)) j++;
        const at = j < this.n ? this.s.charCodeAt(j) : -1;
        if (multi && (at == 0x0a || (at == 0x0d && j + 1 < this.n && this.s.charCodeAt(j + 1) == 0x0a))) {
          // Line-ending backslash: skip every space, tab and newline up to the next character.
          this.i = j;
          while (true) {
            this.ws();
            if (!this.newline()) break;
          }
        } else if (multi && j > this.i + 1) {
          this.i = j;
          return this.error<string>("only a line end may follow a backslash and whitespace");
        } else {
          const e = this.escape();
          if (e === null) return null;
          out += e;
        }
        from = this.i;
      } else if (c == 0x0a) this.i++;
      else if (c == 0x0d) {
        if (!this.newline()) return this.error<string>("bare carriage return");
      } else if (isControl(c)) return this.error<string>("control character in a string");
      else if (c >= 0x80) {
        if (!this.unicode()) return null;
      } else this.i++;
    }
  }

  /**
   * Digits in `base` with single underscores between digits (§Integer); returns how many digits,
   * 0 when there are none, −1 after an error.
   */
  digits(base: i32): i32 {
    let count = 0;
    while (true) {
      const c = this.peek();
      const d = base == 16 ? hexValue(c) : isDigit(c) ? c - 0x30 : -1;
      if (d >= 0 && d < base) {
        count++;
        this.i++;
      } else if (c == 0x5f) {
        if (count == 0 || !(base == 16 ? hexValue(this.peek(1)) >= 0 : isDigit(this.peek(1)) && this.peek(1) - 0x30 < base)) {
          return this.fail("an underscore must stand between two digits") ? 0 : -1;
        }
        this.i++;
      } else return count;
    }
  }

  /** An integer (decimal, 0x, 0o, 0b; i64 range) or a float (decimal, inf, nan). */
  number(): JValue | null {
    const start = this.i;
    const sign = this.peek();
    if (sign == 0x2b || sign == 0x2d) this.i++;
    if (this.word("inf")) return JValue.number(sign == 0x2d ? -Infinity : Infinity);
    if (this.word("nan")) return JValue.number(NaN);
    const p = this.peek(1);
    if (this.peek() == 0x30 && (p == 0x78 || p == 0x6f || p == 0x62)) {
      if (this.i != start) return this.error<JValue>("a sign is not allowed on hex, octal or binary integers");
      this.i += 2;
      const base = p == 0x78 ? 16 : p == 0x6f ? 8 : 2;
      const from = this.i;
      const n = this.digits(base);
      if (n <= 0) return n < 0 ? null : this.error<JValue>("expected digits after 0" + String.fromCharCode(p));
      return this.integer(from, base, false);
    }
    const intFrom = this.i;
    const n = this.digits(10);
    if (n <= 0) return n < 0 ? null : this.error<JValue>("invalid number");
    if (n > 1 && this.s.charCodeAt(intFrom) == 0x30) {
      this.i = intFrom;
      return this.error<JValue>("leading zeros are not allowed");
    }
    let float = false;
    if (this.peek() == 0x2e) {
      this.i++;
      const f = this.digits(10);
      if (f <= 0) return f < 0 ? null : this.error<JValue>("expected digits after '.'");
      float = true;
    }
    const e = this.peek();
    if (e == 0x65 || e == 0x45) {
      this.i++;
      const es = this.peek();
      if (es == 0x2b || es == 0x2d) this.i++;
      const x = this.digits(10);
      if (x <= 0) return x < 0 ? null : this.error<JValue>("expected digits in the exponent");
      float = true;
    }
    if (!float) return this.integer(intFrom, 10, sign == 0x2d);
    // What is left is JSON's number grammar once the underscores and a '+' are gone.
    let text = "";
    for (let k = sign == 0x2b ? start + 1 : start; k < this.i; k++) {
      const c = this.s.charCodeAt(k);
      if (c != 0x5f) text += String.fromCharCode(c);
    }
    return JValue.number(parseNumber(text));
  }

  /** The digits from `from` to here in `base` as an i64 (its magnitude ≤ 2^63 when negative). */
  integer(from: i32, base: i32, neg: bool): JValue | null {
    const limit: u64 = neg ? 0x8000000000000000 : 0x7fffffffffffffff;
    let m: u64 = 0;
    for (let k = from; k < this.i; k++) {
      const d = hexValue(this.s.charCodeAt(k));
      if (d < 0) continue; // an underscore
      if (m > (limit - <u64>d) / <u64>base) {
        this.i = from;
        return this.error<JValue>("integer out of the 64-bit range");
      }
      m = m * <u64>base + <u64>d;
    }
    return JValue.number(neg ? -(<f64>m) : <f64>m);
  }

  /** `n` digits as a number, or −1 when they are not all digits. */
  fixed(n: i32): i32 {
    let v = 0;
    for (let k = 0; k < n; k++) {
      const c = this.peek();
      if (!isDigit(c)) return -1;
      v = v * 10 + c - 0x30;
      this.i++;
    }
    return v;
  }

  /** HH:MM:SS(.fraction)? with valid ranges (RFC 3339 partial-time; a leap second 60 allowed). */
  time(): bool {
    const h = this.fixed(2);
    if (h < 0 || h > 23 || this.peek() != 0x3a) return this.fail("invalid time: expected HH:MM:SS with hour 00-23");
    this.i++;
    const m = this.fixed(2);
    if (m < 0 || m > 59 || this.peek() != 0x3a) return this.fail("invalid time: expected HH:MM:SS with minute 00-59");
    this.i++;
    const s = this.fixed(2);
    if (s < 0 || s > 60) return this.fail("invalid time: expected HH:MM:SS with second 00-60");
    if (this.peek() == 0x2e) {
      this.i++;
      if (!isDigit(this.peek())) return this.fail("invalid time: expected digits after '.'");
      while (isDigit(this.peek())) this.i++;
    }
    return true;
  }

  /**
   * An offset date-time, local date-time, local date or local time (RFC 3339 as TOML 1.0 takes
   * it: 'T', 't' or a space between date and time; 'Z', 'z' or ±HH:MM), kept as written.
   */
  dateTime(): JValue | null {
    const start = this.i;
    if (this.peek(2) == 0x3a) {
      if (!this.time()) return null;
      return JValue.string(this.s.substring(start, this.i));
    }
    const y = this.fixed(4);
    this.i++; // '-', checked by value()
    const mo = this.fixed(2);
    if (mo < 1 || mo > 12 || this.peek() != 0x2d) return this.error<JValue>("invalid date: expected YYYY-MM-DD with month 01-12");
    this.i++;
    const d = this.fixed(2);
    const leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    const days = mo == 2 ? (leap ? 29 : 28) : mo == 4 || mo == 6 || mo == 9 || mo == 11 ? 30 : 31;
    if (d < 1 || d > days) return this.error<JValue>("invalid date: day out of range for the month");
    const t = this.peek();
    if (!(t == 0x54 || t == 0x74 || (t == 0x20 && isDigit(this.peek(1)) && isDigit(this.peek(2)) && this.peek(3) == 0x3a))) {
      return JValue.string(this.s.substring(start, this.i));
    }
    this.i++;
    if (!this.time()) return null;
    const z = this.peek();
    if (z == 0x5a || z == 0x7a) this.i++;
    else if (z == 0x2b || z == 0x2d) {
      this.i++;
      const oh = this.fixed(2);
      if (oh < 0 || oh > 23 || this.peek() != 0x3a) return this.error<JValue>("invalid offset: expected ±HH:MM");
      this.i++;
      const om = this.fixed(2);
      if (om < 0 || om > 59) return this.error<JValue>("invalid offset: expected ±HH:MM");
    }
    return JValue.string(this.s.substring(start, this.i));
  }
}

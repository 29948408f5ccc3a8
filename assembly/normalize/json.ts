// A small JSON reader for the handshake frame: objects, arrays, strings (with escapes),
// numbers, booleans and null. Malformed input yields null, never a trap.

export const J_NULL: i32 = 0;
export const J_BOOL: i32 = 1;
export const J_NUM: i32 = 2;
export const J_STR: i32 = 3;
export const J_ARR: i32 = 4;
export const J_OBJ: i32 = 5;

/** A parsed JSON value. */
export class JValue {
  kind: i32 = J_NULL;
  b: bool = false;
  n: f64 = 0;
  s: string = "";
  items: JValue[] = [];
  keys: string[] = [];

  /** The member `key` of an object, or null. */
  get(key: string): JValue | null {
    if (this.kind != J_OBJ) return null;
    for (let i = this.keys.length - 1; i >= 0; i--) if (this.keys[i] == key) return this.items[i];
    return null;
  }
}

/** Parses JSON text; null when it is not exactly one valid JSON value (depth ≤ 32). */
export function parseJson(text: string): JValue | null {
  const p = new Parser(text);
  const v = p.value(0);
  if (v === null) return null;
  p.ws();
  return p.at == text.length ? v : null;
}

class Parser {
  at: i32 = 0;
  constructor(public text: string) {}

  ws(): void {
    while (this.at < this.text.length) {
      const c = this.text.charCodeAt(this.at);
      if (c != 32 && c != 9 && c != 10 && c != 13) break;
      this.at++;
    }
  }

  value(depth: i32): JValue | null {
    if (depth > 32) return null;
    this.ws();
    if (this.at >= this.text.length) return null;
    const c = this.text.charCodeAt(this.at);
    const v = new JValue();
    if (c == 123 || c == 91) {
      // Object or array: the same loop; an object member has a key and a colon first.
      const isObj = c == 123;
      const close = isObj ? 125 : 93;
      v.kind = isObj ? J_OBJ : J_ARR;
      this.at++;
      this.ws();
      if (this.peek() == close) {
        this.at++;
        return v;
      }
      while (true) {
        if (isObj) {
          this.ws();
          if (this.peek() != 34) return null;
          const k = this.str();
          if (k === null) return null;
          this.ws();
          if (this.peek() != 58) return null;
          this.at++;
          v.keys.push(k);
        }
        const item = this.value(depth + 1);
        if (item === null) return null;
        v.items.push(item);
        this.ws();
        const d = this.peek();
        this.at++;
        if (d == close) return v;
        if (d != 44) return null;
      }
    }
    if (c == 34) {
      const s = this.str();
      if (s === null) return null;
      v.kind = J_STR;
      v.s = s;
      return v;
    }
    if (this.lit("true")) {
      v.kind = J_BOOL;
      v.b = true;
      return v;
    }
    if (this.lit("false")) {
      v.kind = J_BOOL;
      return v;
    }
    if (this.lit("null")) return v;
    // Number: -?digits(.digits)?([eE][+-]?digits)?
    const start = this.at;
    if (this.peek() == 45) this.at++;
    if (!this.digits()) return null;
    if (this.peek() == 46) {
      this.at++;
      if (!this.digits()) return null;
    }
    const e = this.peek();
    if (e == 101 || e == 69) {
      this.at++;
      const sign = this.peek();
      if (sign == 43 || sign == 45) this.at++;
      if (!this.digits()) return null;
    }
    v.kind = J_NUM;
    v.n = parseFloat(this.text.substring(start, this.at));
    return v;
  }

  peek(): i32 {
    return this.at < this.text.length ? this.text.charCodeAt(this.at) : -1;
  }

  digits(): bool {
    const s = this.at;
    while (this.at < this.text.length) {
      const c = this.text.charCodeAt(this.at);
      if (c < 48 || c > 57) break;
      this.at++;
    }
    return this.at > s;
  }

  lit(word: string): bool {
    if (this.text.substring(this.at, this.at + word.length) == word) {
      this.at += word.length;
      return true;
    }
    return false;
  }

  str(): string | null {
    this.at++; // opening quote
    let out = "";
    while (this.at < this.text.length) {
      const c = this.text.charCodeAt(this.at++);
      if (c == 34) return out;
      if (c < 32) return null;
      if (c != 92) {
        out += String.fromCharCode(c);
        continue;
      }
      if (this.at >= this.text.length) return null;
      const e = this.text.charCodeAt(this.at++);
      if (e == 110) out += "\n";
      else if (e == 116) out += "\t";
      else if (e == 114) out += "\r";
      else if (e == 98) out += "\b";
      else if (e == 102) out += "\f";
      else if (e == 34 || e == 92 || e == 47) out += String.fromCharCode(e);
      else if (e == 117) {
        if (this.at + 4 > this.text.length) return null;
        let u: i32 = 0;
        for (let i = 0; i < 4; i++) {
          const h = this.text.charCodeAt(this.at++);
          u <<= 4;
          if (h >= 48 && h <= 57) u |= h - 48;
          else if (h >= 97 && h <= 102) u |= h - 87;
          else if (h >= 65 && h <= 70) u |= h - 55;
          else return null;
        }
        out += String.fromCharCode(u);
      } else return null;
    }
    return null;
  }
}

/** Quotes `s` as a JSON string. */
export function quote(s: string): string {
  let out = "\"";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == 34) out += "\\\"";
    else if (c == 92) out += "\\\\";
    else if (c == 10) out += "\\n";
    else if (c < 32) out += "\\u00" + (c < 16 ? "0" : "") + c.toString(16);
    else out += String.fromCharCode(c);
  }
  return out + "\"";
}

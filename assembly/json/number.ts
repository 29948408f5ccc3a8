// Decimal text ↔ f64, exactly as JavaScript does it: `Number("…")` / `JSON.parse` round to the
// nearest double (ties to even), `String(x)` prints the shortest digits that read back as x.
// AssemblyScript's own parseFloat and f64.toString are neither (parseFloat misrounds long digit
// strings; Grisu2 prints non-shortest digits and "1.0"), so both directions are done here with a
// small big-integer type: reading by comparing the decimal against halfway points between
// neighbouring doubles ("bigcomp", Clinger 1990 "How to Read Floating Point Numbers Accurately"),
// printing with Burger & Dybvig's free-format algorithm (PLDI 1996, "Printing Floating-Point
// Numbers Quickly and Accurately"), the output laid out as ECMA-262 §6.1.6.1.20 Number::toString.

/**
 * Decimal digits that decide reading: a halfway point between doubles has at most 767
 * significant digits, so digits past 800 only matter as "something non-zero follows".
 */
export const MAX_DIGITS: i32 = 800;

/** An unsigned big integer: 32-bit limbs, least significant first, no leading zero limbs. */
class Big {
  w: u32[] = [];

  static of(x: u64): Big {
    const b = new Big();
    while (x != 0) {
      b.w.push(<u32>x);
      x >>= 32;
    }
    return b;
  }

  clone(): Big {
    const b = new Big();
    b.w = this.w.slice();
    return b;
  }

  /** this = this × m + add. */
  mulAdd(m: u32, add: u32 = 0): Big {
    let carry = <u64>add;
    const w = this.w;
    for (let i = 0, n = w.length; i < n; i++) {
      const t = <u64>unchecked(w[i]) * m + carry;
      unchecked((w[i] = <u32>t));
      carry = t >> 32;
    }
    if (carry != 0) w.push(<u32>carry);
    return this;
  }

  /** this = this × 10^n (n ≥ 0). */
  mulPow10(n: i32): Big {
    return this.mulPow5(n).shl(n);
  }

  /** this = this × 5^n (n ≥ 0). */
  mulPow5(n: i32): Big {
    for (; n >= 13; n -= 13) this.mulAdd(1220703125); // 5^13
    let m: u32 = 1;
    for (; n > 0; n--) m *= 5;
    return this.mulAdd(m);
  }

  /** this = this × 2^n (n ≥ 0). */
  shl(n: i32): Big {
    const w = this.w;
    if (w.length == 0) return this;
    const bits = n & 31;
    if (bits != 0) {
      let carry: u32 = 0;
      for (let i = 0, len = w.length; i < len; i++) {
        const x = unchecked(w[i]);
        unchecked((w[i] = (x << bits) | carry));
        carry = x >> (32 - bits);
      }
      if (carry != 0) w.push(carry);
    }
    const limbs = n >> 5;
    if (limbs > 0) {
      const z = new Array<u32>(limbs);
      this.w = z.concat(w);
    }
    return this;
  }

  /** this = this + b. */
  add(b: Big): Big {
    const w = this.w;
    const v = b.w;
    while (w.length < v.length) w.push(0);
    let carry: u64 = 0;
    for (let i = 0, n = w.length; i < n; i++) {
      const t = <u64>unchecked(w[i]) + (i < v.length ? <u64>unchecked(v[i]) : 0) + carry;
      unchecked((w[i] = <u32>t));
      carry = t >> 32;
    }
    if (carry != 0) w.push(<u32>carry);
    return this;
  }

  /** this = this − b; requires this ≥ b. */
  sub(b: Big): Big {
    const w = this.w;
    const v = b.w;
    let borrow: i64 = 0;
    for (let i = 0, n = w.length; i < n; i++) {
      const t = <i64>unchecked(w[i]) - (i < v.length ? <i64>unchecked(v[i]) : 0) - borrow;
      unchecked((w[i] = <u32>t));
      borrow = t < 0 ? 1 : 0;
    }
    while (w.length > 0 && w[w.length - 1] == 0) w.pop();
    return this;
  }

  /** −1, 0 or 1 as this <, = or > b. */
  cmp(b: Big): i32 {
    const w = this.w;
    const v = b.w;
    if (w.length != v.length) return w.length < v.length ? -1 : 1;
    for (let i = w.length - 1; i >= 0; i--) {
      const x = unchecked(w[i]);
      const y = unchecked(v[i]);
      if (x != y) return x < y ? -1 : 1;
    }
    return 0;
  }
}

/** 10^n as an exact f64 (n ≤ 22: every such power is a double). */
function pow10(n: i32): f64 {
  let p: f64 = 1;
  for (; n > 0; n--) p *= 10;
  return p;
}

/**
 * Compares the decimal value `a` (already scaled, see `decimalToF64`) with the halfway point
 * between the positive doubles with bit patterns `bits` and `bits + 1`: −1, 0 or 1.
 * The halfway point is (2m + 1) × 2^(q−1) for bits = m × 2^q; `pow5` and `e` put both sides
 * on integers: a × 2^max(e,0) versus (2m+1) × 5^max(−e,0) × 2^(q−1−min(e,0)).
 */
function cmpHalfway(a: Big, e: i32, bits: u64, sticky: bool): i32 {
  const expField = <i32>(bits >> 52);
  const frac = bits & 0xfffffffffffff;
  const m = expField == 0 ? frac : frac | 0x10000000000000;
  const q = (expField == 0 ? 1 : expField) - 1075;
  const h = (m << 1) + 1;
  const b = Big.of(h & 0xffffffff);
  b.add(Big.of(h >> 32).shl(32));
  if (e < 0) b.mulPow5(-e);
  const s = e - (q - 1);
  let c: i32;
  if (s >= 0) c = a.clone().shl(s).cmp(b);
  else c = a.cmp(b.shl(-s));
  // Digits were cut off after MAX_DIGITS: the true value lies just above `a`.
  return c == 0 && sticky ? 1 : c;
}

/**
 * The double nearest to the decimal 0.d₁d₂…dₙ × 10^point, ties to even (IEEE 754 roundTiesToEven,
 * as `Number()` reads it). `digits` holds the n digit values 0–9 (not ASCII), the first non-zero
 * (n = 0 is zero). With n = MAX_DIGITS + 1 the last slot only says whether anything non-zero
 * follows the first MAX_DIGITS digits. Overflow gives Infinity, underflow 0, as JavaScript does.
 * The sign is the caller's.
 */
export function decimalToF64(digits: usize, n: i32, point: i32): f64 {
  let sticky = false;
  if (n > MAX_DIGITS) {
    sticky = load<u8>(digits + MAX_DIGITS) != 0;
    n = MAX_DIGITS;
  }
  while (n > 0 && load<u8>(digits + n - 1) == 0) n--;
  if (n == 0) return 0;
  // value < 10^point: 10^-324 is under half the least subnormal; 10^310 is over the largest double.
  if (point < -323) return 0;
  if (point > 310) return Infinity;
  const e = point - n; // value = D × 10^e with D the integer of the n digits
  let w: u64 = 0;
  const used = n < 19 ? n : 19;
  for (let i = 0; i < used; i++) w = w * 10 + load<u8>(digits + i);
  if (n <= 15 && e >= -22 && e <= 22 && !sticky) {
    // Clinger's fast path: D and 10^|e| are exact doubles, so one rounding gives the answer.
    return e >= 0 ? <f64>w * pow10(e) : <f64>w / pow10(-e);
  }
  // An estimate within a few units in the last place, then exact steps to the nearest double.
  let est = <f64>w;
  let k = e + n - used;
  for (; k > 22; k -= 22) est *= 1e22;
  for (; k < -22; k += 22) est /= 1e22;
  est = k >= 0 ? est * pow10(k) : est / pow10(-k);
  let bits = est == Infinity ? <u64>0x7fefffffffffffff : reinterpret<u64>(est);
  const a = new Big();
  for (let i = 0; i < n; i++) a.mulAdd(10, load<u8>(digits + i));
  if (e > 0) a.mulPow5(e);
  while (true) {
    if (bits < 0x7ff0000000000000) {
      const up = cmpHalfway(a, e, bits, sticky);
      if (up > 0 || (up == 0 && (bits & 1) != 0)) {
        bits++;
        continue;
      }
    }
    if (bits > 0) {
      const down = cmpHalfway(a, e, bits - 1, sticky);
      if (down < 0 || (down == 0 && (bits & 1) != 0)) {
        bits--;
        continue;
      }
    }
    return reinterpret<f64>(bits);
  }
}

/** Digit scratch for the number printer (at most 17 significant digits). */
const DIGITS = new StaticArray<u8>(20);

/**
 * Shortest digits of a positive finite double `x` into DIGITS; returns count | (point << 8)
 * packed as (point + 400) << 8 | count, where x = 0.d₁…dₙ × 10^point. Burger & Dybvig's
 * free-format algorithm with exact bounds (inclusive when the significand is even, since reading
 * rounds ties to even) and, when both neighbours would do, the nearer digit (an exact tie takes
 * the even digit, as V8 does).
 */
function shortestDigits(x: f64): i32 {
  const bits = reinterpret<u64>(x);
  const expField = <i32>(bits >> 52);
  const frac = bits & 0xfffffffffffff;
  const f = expField == 0 ? frac : frac | 0x10000000000000;
  const e = (expField == 0 ? 1 : expField) - 1075;
  const even = (f & 1) == 0;
  // The gap to the next double up is 2^e; down it is 2^e too, except just above a power of two
  // (f = 2^52 in a normal binade), where it halves. Everything is doubled to keep it integral.
  const lopsided = f == 0x10000000000000 && expField > 1;
  let r: Big, s: Big, mp: Big, mm: Big;
  if (e >= 0) {
    mm = Big.of(1).shl(e);
    mp = lopsided ? Big.of(1).shl(e + 1) : mm.clone();
    r = Big.of(f).shl(lopsided ? e + 2 : e + 1);
    s = Big.of(lopsided ? 4 : 2);
  } else {
    mm = Big.of(1);
    mp = Big.of(lopsided ? 2 : 1);
    r = Big.of(f).shl(lopsided ? 2 : 1);
    s = Big.of(1).shl(lopsided ? 2 - e : 1 - e);
  }
  // k = ⌈log10 x⌉, estimated from below by the bit length, then corrected upwards.
  const bitLen = 64 - <i32>clz(f) + e;
  let k = <i32>Math.ceil(<f64>(bitLen - 1) * 0.30102999566398114 - 1e-10);
  if (k >= 0) s.mulPow10(k);
  else {
    r.mulPow10(-k);
    mp.mulPow10(-k);
    mm.mulPow10(-k);
  }
  while (true) {
    const c = r.clone().add(mp).cmp(s);
    if (c > 0 || (c == 0 && even)) {
      s.mulAdd(10);
      k++;
    } else break;
  }
  let n = 0;
  while (true) {
    r.mulAdd(10);
    mp.mulAdd(10);
    mm.mulAdd(10);
    let d: u8 = 0;
    while (r.cmp(s) >= 0) {
      r.sub(s);
      d++;
    }
    const lo = r.cmp(mm);
    const low = lo < 0 || (lo == 0 && even);
    const hi = r.clone().add(mp).cmp(s);
    const high = hi > 0 || (hi == 0 && even);
    if (!low && !high) {
      unchecked((DIGITS[n++] = d));
      continue;
    }
    if (low && high) {
      const c = r.clone().shl(1).cmp(s);
      if (c > 0 || (c == 0 && (d & 1) != 0)) d++;
    } else if (high) d++;
    unchecked((DIGITS[n++] = d));
    break;
  }
  return ((k + 400) << 8) | n;
}

/**
 * `x` as JavaScript's `String(x)` prints it (ECMA-262 Number::toString): the shortest digits
 * that read back as x, integers without a fraction, exponent form below 1e-6 and from 1e21
 * ("1e+21", "1.5e-7"); "NaN", "Infinity", "-Infinity"; −0 prints as "0".
 */
export function formatF64(x: f64): string {
  if (x != x) return "NaN";
  if (x == 0) return "0";
  if (x < 0) return "-" + formatF64(-x);
  if (x == Infinity) return "Infinity";
  if (x < 9007199254740992 && x == Math.floor(x)) return (<u64>x).toString();
  const packed = shortestDigits(x);
  const n = packed & 0xff;
  const point = (packed >> 8) - 400;
  let ds = "";
  for (let i = 0; i < n; i++) ds += String.fromCharCode(48 + DIGITS[i]);
  if (n <= point && point <= 21) return ds + "0".repeat(point - n);
  if (0 < point && point <= 21) return ds.substring(0, point) + "." + ds.substring(point);
  if (-6 < point && point <= 0) return "0." + "0".repeat(-point) + ds;
  const exp = point - 1;
  const mant = n == 1 ? ds : ds.substring(0, 1) + "." + ds.substring(1);
  return mant + "e" + (exp < 0 ? "-" : "+") + abs(exp).toString();
}

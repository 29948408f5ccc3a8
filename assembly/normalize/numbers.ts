// Numbers to English words: cardinals, ordinals, decimals, years and clock times.
// Digit strings are read as given (no float parsing), so precision is never lost.

const ONES: string[] = [
  "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
  "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
];
const TENS: string[] = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];
const SCALES: string[] = ["", " thousand", " million", " billion", " trillion"];

/** Largest digit count read as a cardinal; longer runs are read digit by digit. */
export const MAX_CARDINAL_DIGITS: i32 = 15;

/** Value of the ASCII digits s[from..to) (at most 9 digits). */
export function parseDigits(s: string, from: i32, to: i32): i32 {
  let v: i32 = 0;
  for (let i = from; i < to; i++) v = v * 10 + (s.charCodeAt(i) - 48);
  return v;
}

/** Words for 0..99. */
function under100(n: i32): string {
  if (n < 20) return ONES[n];
  const t = TENS[n / 10];
  return n % 10 == 0 ? t : t + "-" + ONES[n % 10];
}

/** Words for 0..999 ("one hundred twenty-three"). */
function under1000(n: i32): string {
  if (n < 100) return under100(n);
  const h = ONES[n / 100] + " hundred";
  return n % 100 == 0 ? h : h + " " + under100(n % 100);
}

/** Reads a run of ASCII digits digit by digit ("zero seven"). */
export function digitsToWords(digits: string): string {
  let out = "";
  for (let i = 0; i < digits.length; i++) {
    if (i > 0) out += " ";
    out += ONES[digits.charCodeAt(i) - 48];
  }
  return out;
}

/** Cardinal words for a run of ASCII digits (no separators), e.g. "1200" → "one thousand two hundred". */
export function cardinal(digits: string): string {
  let start = 0;
  while (start < digits.length - 1 && digits.charCodeAt(start) == 48) start++;
  const d = digits.substring(start);
  if (d.length > MAX_CARDINAL_DIGITS) return digitsToWords(digits);
  if (d == "0") return "zero";
  // Split into groups of three from the right.
  let out = "";
  const groups = (d.length + 2) / 3;
  let at = 0;
  for (let g = groups - 1; g >= 0; g--) {
    const len = d.length - at - g * 3;
    const v = parseDigits(d, at, at + len);
    at += len;
    if (v == 0) continue;
    if (out.length > 0) out += " ";
    out += under1000(v) + SCALES[g];
  }
  return out;
}

/** Turns the last word of cardinal words into its ordinal ("twenty-one" → "twenty-first"). */
export function ordinalize(words: string): string {
  let cut = words.length;
  while (cut > 0) {
    const c = words.charCodeAt(cut - 1);
    if (c == 32 || c == 45) break; // space or hyphen
    cut--;
  }
  const head = words.substring(0, cut);
  const last = words.substring(cut);
  let tail: string;
  if (last == "one") tail = "first";
  else if (last == "two") tail = "second";
  else if (last == "three") tail = "third";
  else if (last == "five") tail = "fifth";
  else if (last == "eight") tail = "eighth";
  else if (last == "nine") tail = "ninth";
  else if (last == "twelve") tail = "twelfth";
  else if (last.endsWith("y")) tail = last.substring(0, last.length - 1) + "ieth";
  else tail = last + "th";
  return head + tail;
}

/** A year 1100..2099 as spoken ("nineteen ninety-nine", "two thousand five", "twenty twenty-four"). */
export function year(v: i32): string {
  if (v >= 2000 && v < 2010) return v == 2000 ? "two thousand" : "two thousand " + ONES[v - 2000];
  const hi = v / 100;
  const lo = v % 100;
  const head = under100(hi);
  if (lo == 0) return head + " hundred";
  if (lo < 10) return head + " oh " + ONES[lo];
  return head + " " + under100(lo);
}

/** A clock time h:mm as spoken ("ten thirty", "nine oh five", "seven o'clock"). */
export function clock(h: i32, m: i32): string {
  const head = under100(h);
  if (m == 0) return head + " o'clock";
  if (m < 10) return head + " oh " + ONES[m];
  return head + " " + under100(m);
}

// The text normaliser: numbers to words, common abbreviations, whitespace. Streaming: text is
// pushed in pieces cut anywhere; output is produced for every complete word whose next word is
// known (one word of look-ahead decides "St." = Saint or Street, "No. 5" = number five).

import { cardinal, clock, digitsToWords, MAX_CARDINAL_DIGITS, ordinalize, parseDigits, year } from "./numbers";

/** Which rewrites are on (the plugin's options). */
export class Settings {
  numbers: bool = true;
  abbreviations: bool = true;
  years: bool = true;
}

// Abbreviations that always expand the same way (the dot is part of the key).
const ABBREV_KEYS: string[] = [
  "Dr.", "Mr.", "Mrs.", "Ms.", "Prof.", "Sr.", "Jr.", "Mt.", "vs.", "etc.", "e.g.", "i.e.", "approx.",
  "Inc.", "Ltd.", "Co.", "Corp.", "Ave.", "Rd.", "Blvd.", "Dept.", "Gov.", "Gen.", "Capt.", "Lt.", "Sgt.",
  "Jan.", "Feb.", "Mar.", "Apr.", "Aug.", "Sep.", "Sept.", "Oct.", "Nov.", "Dec.",
  "Mon.", "Tue.", "Wed.", "Thu.", "Fri.", "Sat.", "Sun.", "min.", "max.", "&",
];
const ABBREV_VALUES: string[] = [
  "Doctor", "Mister", "Missus", "Miz", "Professor", "Senior", "Junior", "Mount", "versus", "et cetera", "for example", "that is", "approximately",
  "Incorporated", "Limited", "Company", "Corporation", "Avenue", "Road", "Boulevard", "Department", "Governor", "General", "Captain", "Lieutenant", "Sergeant",
  "January", "February", "March", "April", "August", "September", "September", "October", "November", "December",
  "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "minimum", "maximum", "and",
];
// Expansions that may end a sentence: keep the period when the next word starts a sentence.
const SENTENCE_FINAL: string[] = ["etc.", "Inc.", "Ltd.", "Co.", "Corp.", "Jr.", "Sr."];

const abbrev = new Map<string, string>();
for (let i = 0; i < ABBREV_KEYS.length; i++) abbrev.set(ABBREV_KEYS[i], ABBREV_VALUES[i]);

@inline function isDigit(c: i32): bool {
  return c >= 48 && c <= 57;
}
@inline function isUpper(c: i32): bool {
  return c >= 65 && c <= 90;
}
/** Whitespace as the normaliser sees it: ASCII space, tab, CR, LF, VT, FF and NBSP. */
@inline export function isSpace(c: i32): bool {
  return c == 32 || (c >= 9 && c <= 13) || c == 0xa0;
}
/** Punctuation that may wrap a word: quotes, brackets, sentence marks. */
function isWrap(c: i32): bool {
  return c == 40 || c == 41 || c == 91 || c == 93 || c == 34 || c == 39 || c == 44 || c == 59 || c == 58 ||
    c == 33 || c == 63 || c == 0x201c || c == 0x201d || c == 0x2018 || c == 0x2019 || c == 46;
}

/** True when s[from..to) is all ASCII digits and not empty. */
function allDigits(s: string, from: i32, to: i32): bool {
  if (from >= to) return false;
  for (let i = from; i < to; i++) if (!isDigit(s.charCodeAt(i))) return false;
  return true;
}

/**
 * Words for a number core such as "1,200", "3.14", "-5", "21st", "10:30", "$5.99", "50%";
 * null when `core` is not a number.
 */
function numberWords(core: string, s: Settings): string | null {
  let t = core;
  let prefix = "";
  let suffix = "";
  let currency = "";
  if (t.startsWith("-") || t.startsWith("\u2212")) {
    prefix = "minus ";
    t = t.substring(1);
  }
  const c0 = t.length > 0 ? t.charCodeAt(0) : 0;
  if (c0 == 36) currency = "dollar";
  else if (c0 == 0xa3) currency = "pound";
  else if (c0 == 0x20ac) currency = "euro";
  if (currency.length) t = t.substring(1);
  if (t.endsWith("%")) {
    suffix = " percent";
    t = t.substring(0, t.length - 1);
  }
  if (t.length == 0 || !isDigit(t.charCodeAt(0))) return null;

  // Ordinals: 1st 2nd 3rd 4th 21st …
  if (t.length > 2 && currency.length == 0 && suffix.length == 0) {
    const tail = t.substring(t.length - 2).toLowerCase();
    if ((tail == "st" || tail == "nd" || tail == "rd" || tail == "th") && allDigits(t, 0, t.length - 2) && t.length - 2 <= MAX_CARDINAL_DIGITS) {
      return prefix + ordinalize(cardinal(t.substring(0, t.length - 2)));
    }
  }
  // Clock times h:mm.
  const colon = t.indexOf(":");
  if (colon > 0 && currency.length == 0) {
    if (colon <= 2 && t.length == colon + 3 && allDigits(t, 0, colon) && allDigits(t, colon + 1, t.length)) {
      const h = parseDigits(t, 0, colon);
      const m = parseDigits(t, colon + 1, t.length);
      if (h <= 24 && m < 60) return prefix + clock(h, m);
    }
    return null;
  }
  // Integer part with optional thousands separators, optional decimals.
  let intPart = "";
  let i = 0;
  let group = 0;
  let sawComma = false;
  while (i < t.length) {
    const c = t.charCodeAt(i);
    if (isDigit(c)) {
      intPart += String.fromCharCode(c);
      group++;
    } else if (c == 44) {
      if (group == 0 || (sawComma && group != 3) || (!sawComma && group > 3)) return null;
      sawComma = true;
      group = 0;
    } else break;
    i++;
  }
  if (sawComma && group != 3) return null;
  let frac = "";
  if (i < t.length) {
    if (t.charCodeAt(i) != 46 || !allDigits(t, i + 1, t.length)) return null;
    frac = t.substring(i + 1);
  }
  if (intPart.length == 0) return null;

  if (currency.length) {
    const whole = cardinal(intPart);
    let out = prefix + whole + " " + currency + (whole == "one" ? "" : "s");
    if (frac.length == 2 && frac != "00") {
      const cents = cardinal(frac);
      out += " and " + cents + (currency == "pound" ? (cents == "one" ? " penny" : " pence") : (cents == "one" ? " cent" : " cents"));
    } else if (frac.length > 0 && frac != "00") {
      out = prefix + cardinal(intPart) + " point " + digitsToWords(frac) + " " + currency + "s";
    }
    return out + suffix;
  }
  if (s.years && !sawComma && frac.length == 0 && prefix.length == 0 && suffix.length == 0 && intPart.length == 4) {
    const v = parseDigits(intPart, 0, 4);
    if (v >= 1100 && v <= 2099) return year(v);
  }
  let words = cardinal(intPart);
  if (frac.length) words += " point " + digitsToWords(frac);
  return prefix + words + suffix;
}

/** Rewrites one word (no whitespace inside) given the next word ("" at the end of the text). */
function rewriteWord(word: string, next: string, s: Settings): string {
  // Peel wrapping punctuation: leading quotes/brackets, trailing , ; : ! ? ) " and dots.
  let a = 0;
  let b = word.length;
  while (a < b && isWrap(word.charCodeAt(a)) && word.charCodeAt(a) != 46 && word.charCodeAt(a) != 45) a++;
  while (b > a && isWrap(word.charCodeAt(b - 1))) b--;
  const lead = word.substring(0, a);
  let core = word.substring(a, b);
  let trail = word.substring(b);
  const nextStartsSentence = next.length == 0 || isUpper(next.charCodeAt(0)) || next.charCodeAt(0) == 34 || next.charCodeAt(0) == 0x201c;

  if (s.abbreviations) {
    // The abbreviation's own dot was peeled into `trail`; try with it first.
    if (trail.startsWith(".")) {
      const key = core + ".";
      let hit: string | null = null;
      if (key == "St.") hit = nextStartsSentence && next.length > 0 ? "Saint" : "Street";
      else if ((key == "No." || key == "no.") && next.length > 0 && isDigit(next.charCodeAt(0))) hit = key == "No." ? "Number" : "number";
      else if (abbrev.has(key)) hit = abbrev.get(key);
      if (hit !== null) {
        let rest = trail.substring(1);
        // Keep a sentence-ending period after expansions that can end a sentence.
        if (SENTENCE_FINAL.includes(key) && nextStartsSentence && !rest.startsWith(".")) rest = "." + rest;
        return lead + hit + rest;
      }
    }
    // "e.g." and "i.e." lose only their last dot to the peel.
    if (abbrev.has(core)) return lead + abbrev.get(core) + trail;
  }
  if (s.numbers) {
    // A decimal point or a trailing sentence dot: "3.14" keeps its dot in the core.
    let numCore = core;
    if (trail.startsWith(".") && trail.length > 1 && isDigit(trail.charCodeAt(1))) {
      numCore = core + trail;
      trail = "";
    }
    if (trail.startsWith("%")) {
      numCore += "%";
      trail = trail.substring(1);
    }
    const w = numberWords(numCore, s);
    if (w !== null) return lead + w + trail;
    // Ranges and ratios like 3-5 or 1/2: rewrite each numeric side.
    const dash = numCore.indexOf("-", 1);
    if (dash > 0 && allDigits(numCore, 0, dash) && allDigits(numCore, dash + 1, numCore.length)) {
      return lead + cardinal(numCore.substring(0, dash)) + " to " + cardinal(numCore.substring(dash + 1)) + trail;
    }
  }
  return word;
}

/** Streaming normaliser: push text, take output, finish. */
export class Normalizer {
  private pending: string = "";
  private started: bool = false;
  private settings: Settings;

  constructor(settings: Settings) {
    this.settings = settings;
  }

  /** Appends text (which must end at a character boundary) and returns the output now final. */
  push(text: string): string {
    this.pending += text;
    return this.drain(false);
  }

  /** Returns the rest of the output at the end of the input. */
  finish(): string {
    return this.drain(true);
  }

  private drain(final: bool): string {
    const t = this.pending;
    // Tokenise into alternating whitespace runs and words.
    const starts = new Array<i32>();
    const ends = new Array<i32>();
    const spaces = new Array<bool>();
    let i = 0;
    while (i < t.length) {
      const sp = isSpace(t.charCodeAt(i));
      let j = i + 1;
      while (j < t.length && isSpace(t.charCodeAt(j)) == sp) j++;
      starts.push(i);
      ends.push(j);
      spaces.push(sp);
      i = j;
    }
    // Not final: keep back the last word (it may continue), and the word before it needs it as
    // look-ahead, so keep that too; processing stops before the whitespace preceding them.
    let stop = starts.length;
    if (!final) {
      let words = 0;
      let k = starts.length - 1;
      // A trailing word run may be cut mid-word: it and one more word stay pending.
      if (k >= 0 && !spaces[k]) words = -1;
      while (k >= 0 && words < 1) {
        if (!spaces[k]) words++;
        k--;
      }
      // k now indexes the token before the last kept word; back up over its whitespace run.
      stop = k >= 0 && spaces[k] ? k : k + 1;
      if (stop < 0) stop = 0;
    }
    let out = "";
    for (let n = 0; n < stop; n++) {
      const piece = t.substring(starts[n], ends[n]);
      if (spaces[n]) {
        if (!this.started || n + 1 >= starts.length) continue; // leading / trailing whitespace
        out += countNewlines(piece) >= 2 ? "\n\n" : " ";
      } else {
        let next = "";
        for (let m = n + 1; m < starts.length; m++) {
          if (!spaces[m]) {
            next = t.substring(starts[m], ends[m]);
            break;
          }
        }
        out += cleanControls(rewriteWord(piece, next, this.settings));
        this.started = true;
      }
    }
    this.pending = stop < starts.length ? t.substring(starts[stop]) : "";
    if (final && out.length > 0) out += "\n";
    return out;
  }
}

function countNewlines(s: string): i32 {
  let n = 0;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) == 10) n++;
  return n;
}

/** Drops C0/C1 control characters (whitespace was handled by the tokeniser). */
function cleanControls(s: string): string {
  let clean = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 32 || (c >= 0x7f && c < 0xa0)) {
      clean = false;
      break;
    }
  }
  if (clean) return s;
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!(c < 32 || (c >= 0x7f && c < 0xa0))) out += String.fromCharCode(c);
  }
  return out;
}

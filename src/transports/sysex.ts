/**
 * CLASP frames inside MIDI System Exclusive messages, for controllers that speak only MIDI
 * (webmidi.ts; docs/device.md §MIDI framing). MIDI 1.0 SysEx carries only 7-bit data bytes
 * between F0 and F7, so a frame is packed 7 bits at a time and, when it is longer than one
 * message may be, split across several messages that the receiver puts back together.
 *
 * One message:
 *
 * ```text
 * F0 7D 43 seq  ih il  ch cl  packed… F7
 * ```
 *
 * - `7D`: the MIDI 1.0 manufacturer ID for non-commercial use; `43` ("C") marks CLASP, so
 *   other users of 7D are told apart (their messages are ignored, not counted as loss).
 * - `seq`: the frame's sequence number, 0–127, wrapping.
 * - `ih il`: this part's index, `ch cl`: the frame's part count (1–16,383), each 14 bits as
 *   two 7-bit bytes, most significant first.
 * - `packed`: 7-bit packing as MIDI sample dumps do it: each group of up to 7 frame bytes
 *   b0…b6 becomes one byte holding their top bits (bit i = bit 7 of bi) followed by the 7 low
 *   bits of each. n bytes take n + ⌈n/7⌉. Every part but the last carries whole groups.
 *
 * A receiver drops (and counts) a frame whose parts come out of order, from another
 * sequence, or with a byte above 7F, and one larger than its maximum; it starts again at the
 * next part 0. The reassembled frame is not decoded here: the router answers a bad one.
 * @module
 */

/** MIDI 1.0 manufacturer ID for non-commercial use. */
export const SYSEX_ID = 0x7d;
/** The byte after the ID that marks a CLASP frame. */
export const SYSEX_CLASP = 0x43;
/** Bytes of a message around its packed data: F0 7D 43 seq ih il ch cl … F7. */
export const SYSEX_OVERHEAD = 9;
/** Most parts a frame may have (14-bit count). */
export const MAX_PARTS = 0x3fff;
/** Smallest per-message size limit: the overhead and one whole 8-byte group. */
export const MIN_SYSEX_BYTES = SYSEX_OVERHEAD + 8;

/** Frame bytes a part carries when messages may be `maxMessageBytes` long (whole 7-byte groups). */
export function bytesPerPart(maxMessageBytes: number): number {
  return Math.floor((maxMessageBytes - SYSEX_OVERHEAD) / 8) * 7;
}

/** Bytes `n` frame bytes take once 7-bit packed: n + ⌈n/7⌉. */
export function packedSize(n: number): number {
  return n + Math.ceil(n / 7);
}

/** Writes `src` 7-bit packed into `dst` at `at`; returns the offset after it. */
function pack(src: Uint8Array, dst: Uint8Array, at: number): number {
  for (let g = 0; g < src.length; g += 7) {
    const head = at++;
    let top = 0;
    const end = Math.min(g + 7, src.length);
    for (let i = g; i < end; i++) {
      const b = src[i]!;
      top |= (b >> 7) << (i - g);
      dst[at++] = b & 0x7f;
    }
    dst[head] = top;
  }
  return at;
}

/**
 * Unpacks the 7-bit data `src` [from, to) into `dst` at `at`; returns the offset after it, or
 * -1 when a group header announces bytes that are not there.
 */
function unpack(src: Uint8Array, from: number, to: number, dst: Uint8Array, at: number): number {
  for (let p = from; p < to; ) {
    const top = src[p++]!;
    const n = Math.min(7, to - p);
    if (n === 0 || top >> n !== 0) return -1;
    for (let i = 0; i < n; i++) dst[at++] = src[p++]! | (((top >> i) & 1) << 7);
  }
  return at;
}

/**
 * The SysEx messages that carry `frame` as sequence number `seq` (taken mod 128), each at
 * most `maxMessageBytes` long.
 * @throws RangeError when `maxMessageBytes` is under {@link MIN_SYSEX_BYTES} or the frame
 *   needs more than {@link MAX_PARTS} messages
 */
export function toSysEx(frame: Uint8Array, seq: number, maxMessageBytes: number): Uint8Array[] {
  if (!Number.isInteger(maxMessageBytes) || maxMessageBytes < MIN_SYSEX_BYTES) {
    throw new RangeError(`a SysEx message must be allowed at least ${MIN_SYSEX_BYTES} bytes, got ${maxMessageBytes}`);
  }
  const per = bytesPerPart(maxMessageBytes);
  const count = Math.max(1, Math.ceil(frame.length / per));
  if (count > MAX_PARTS) throw new RangeError(`a frame of ${frame.length} bytes needs ${count} SysEx messages of ${maxMessageBytes} bytes (at most ${MAX_PARTS})`);
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const part = frame.subarray(i * per, (i + 1) * per);
    const msg = new Uint8Array(SYSEX_OVERHEAD + packedSize(part.length));
    msg.set([0xf0, SYSEX_ID, SYSEX_CLASP, seq & 0x7f, i >> 7, i & 0x7f, count >> 7, count & 0x7f]);
    msg[pack(part, msg, 8)] = 0xf7;
    out.push(msg);
  }
  return out;
}

/** Whether a MIDI message is a CLASP SysEx (F0 7D 43 …); other messages are someone else's. */
export function isClaspSysEx(message: Uint8Array): boolean {
  return message.length >= 3 && message[0] === 0xf0 && message[1] === SYSEX_ID && message[2] === SYSEX_CLASP;
}

/** A CLASP SysEx message or frame that was thrown away, and why. */
export class SysExError extends Error {
  override name = "SysExError";
  constructor(
    message: string,
    /** MIDI bytes lost with it (the dropped messages, whole). */
    readonly bytes: number,
  ) {
    super(message);
  }
}

/**
 * Puts frames back together from CLASP SysEx messages, in arrival order (MIDI is an ordered
 * stream: a part that does not follow the one before spoils its frame).
 */
export class SysExAssembler {
  readonly #maxFrameSize: number;
  #seq = -1;
  #next = 0;
  #count = 0;
  #parts: Uint8Array[] = [];
  #size = 0;
  /** MIDI bytes of the parts held so far (lost if the frame is never completed). */
  #held = 0;

  /** @param maxFrameSize largest frame accepted, bytes */
  constructor(maxFrameSize: number) {
    this.#maxFrameSize = maxFrameSize;
  }

  /** MIDI bytes of an unfinished frame's parts. */
  get pending(): number {
    return this.#held;
  }

  #drop(): number {
    const held = this.#held;
    this.#seq = -1;
    this.#parts = [];
    this.#size = 0;
    this.#held = 0;
    return held;
  }

  /**
   * Takes one CLASP SysEx message ({@link isClaspSysEx}).
   * @returns in order: a {@link SysExError} for what was thrown away (an unfinished frame this
   *   message cut short, or this message itself, with the MIDI bytes lost), and the whole
   *   frame once its last part came; nothing while parts are missing
   */
  push(message: Uint8Array): Array<Uint8Array | SysExError> {
    const len = message.length;
    const refuse = (why: string) => [new SysExError(why, len + this.#drop())];
    if (len < SYSEX_OVERHEAD || message[len - 1] !== 0xf7) return refuse("a CLASP SysEx message too short or not ended by F7");
    for (let i = 3; i < len - 1; i++) if (message[i]! > 0x7f) return refuse(`a status byte inside a SysEx message at ${i}`);
    const seq = message[3]!;
    const index = (message[4]! << 7) | message[5]!;
    const count = (message[6]! << 7) | message[7]!;
    if (count === 0 || index >= count) return refuse(`part ${index} of ${count}`);
    const out: Array<Uint8Array | SysExError> = [];
    if (index === 0) {
      const before = this.#seq;
      const lost = this.#drop();
      if (lost) out.push(new SysExError(`frame ${seq} started before frame ${before} was complete`, lost));
      this.#seq = seq;
      this.#count = count;
      this.#next = 0;
    } else if (seq !== this.#seq || index !== this.#next || count !== this.#count) {
      return refuse(`part ${index}/${count} of frame ${seq} out of order (expected part ${this.#next} of frame ${this.#seq})`);
    }
    const data = new Uint8Array(len - SYSEX_OVERHEAD);
    const end = unpack(message, 8, len - 1, data, 0);
    if (end < 0) return [...out, ...refuse("bad 7-bit packing")];
    this.#size += end;
    if (this.#size > this.#maxFrameSize) return [...out, ...refuse(`frame over the maximum of ${this.#maxFrameSize} bytes`)];
    this.#parts.push(data.subarray(0, end));
    this.#held += len;
    if (++this.#next < count) return out;
    const frame = new Uint8Array(this.#size);
    let at = 0;
    for (const p of this.#parts) {
      frame.set(p, at);
      at += p.length;
    }
    this.#drop();
    out.push(frame);
    return out;
  }
}

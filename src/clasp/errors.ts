/** CLASP error codes (clasp-wire.md §4.2) the codec reports. */
export const ErrorCode = {
  InvalidFrame: 100,
  InvalidMessage: 101,
  UnsupportedVersion: 102,
  InvalidAddress: 200,
  AddressNotFound: 201,
  PatternError: 202,
  Unauthorized: 300,
  Forbidden: 301,
  TokenExpired: 302,
  RevisionConflict: 400,
  LockHeld: 401,
  InvalidValue: 402,
  InternalError: 500,
  ServiceUnavailable: 501,
  Timeout: 502,
} as const;

/**
 * Bytes that are not a valid CLASP v1 frame or value. `code` is the CLASP error code to send
 * back (100 invalid frame, 101 invalid message, 102 unsupported version) and `offset` the
 * byte offset in the input where decoding failed (for streams: the position in the stream,
 * mod 2^32). `fatal` marks a stream error after which no frame boundary can be found (a
 * length prefix over the maximum).
 */
export class ClaspDecodeError extends Error {
  override name = "ClaspDecodeError";

  constructor(
    readonly code: number,
    readonly offset: number,
    readonly reason: string,
    readonly fatal = false,
  ) {
    super(`CLASP ${code}: ${reason} at byte ${offset}`);
  }
}

/**
 * A message or value that the wire format cannot carry: a payload, string or byte string
 * over 65,535 bytes, an array/map/list over 65,535 entries, or nesting deeper than 64.
 * `index` is the position of the failing message in a batch.
 */
export class ClaspEncodeError extends Error {
  override name = "ClaspEncodeError";

  constructor(
    readonly reason: string,
    readonly index = 0,
  ) {
    super(`cannot encode CLASP message ${index}: ${reason}`);
  }
}

/**
 * An address pattern that does not compile (CLASP error 202): empty, not starting with "/",
 * an empty segment other than the last, over 64 segments or over 8 `**` segments.
 */
export class ClaspPatternError extends Error {
  override name = "ClaspPatternError";
  /** The CLASP error code, 202. */
  readonly code = 202;

  constructor(
    readonly pattern: string,
    readonly reason: string,
  ) {
    super(`invalid address pattern ${JSON.stringify(pattern)}: ${reason}`);
  }
}

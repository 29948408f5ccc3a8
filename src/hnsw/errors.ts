/**
 * Typed errors of the HNSW index. Each carries the offending `value`; across a Worker (comlink)
 * only `name`, `message` and `value` survive, so branch on `err.name`, never `instanceof`.
 * @module
 */

/** Base of every HNSW error; `value` is the input that was refused. */
export class HnswError extends Error {
  override name = "HnswError";
  /** The offending value (a length, a label, a component, a parameter, a reason). */
  readonly value: unknown;
  constructor(message: string, value: unknown) {
    super(message);
    this.value = value;
  }
}

/** A vector or query does not have the index's dimension; `value` is its length. */
export class HnswDimensionError extends HnswError {
  override name = "HnswDimensionError";
}

/** A vector component is NaN or infinite; `value` is the component, `index` its position. */
export class HnswValueError extends HnswError {
  override name = "HnswValueError";
  /** Position of the component: `item · dim + j` for the j-th component of batch item `item`. */
  readonly index: number;
  constructor(message: string, value: number, index: number) {
    super(message, value);
    this.index = index;
  }
}

/** A parameter is out of range (k, ef, M, a label that is not a u32, …); `value` is it. */
export class HnswArgumentError extends HnswError {
  override name = "HnswArgumentError";
}

/** Adding would pass maxElements (call `resize` first); `value` is maxElements. */
export class HnswFullError extends HnswError {
  override name = "HnswFullError";
}

/** No live element has this label; `value` is the label. */
export class HnswLabelError extends HnswError {
  override name = "HnswLabelError";
}

/** WebAssembly memory could not grow; `value` is what was asked for (elements or bytes). */
export class HnswMemoryError extends HnswError {
  override name = "HnswMemoryError";
}

/** Why a snapshot was refused (the `value` of an {@link HnswSnapshotError}). */
export type SnapshotProblem =
  | "length"
  | "magic"
  | "version"
  | "params"
  | "checksum"
  | "graph"
  | "vector"
  | "labels"
  | "quantization";

/** A snapshot is truncated, corrupted or not an HNSW snapshot; `value` says why. */
export class HnswSnapshotError extends HnswError {
  override name = "HnswSnapshotError";
  declare readonly value: SnapshotProblem;
}

const ERRORS: Record<string, new (message: string, value: never, index: number) => HnswError> = {
  HnswError,
  HnswDimensionError,
  HnswValueError,
  HnswArgumentError,
  HnswFullError,
  HnswLabelError,
  HnswMemoryError,
  HnswSnapshotError,
};

/** The plain form an {@link HnswError} takes to cross a structured clone (Worker boundary). */
export interface HnswErrorData {
  readonly hnswError: string;
  readonly message: string;
  readonly value: unknown;
  readonly index?: number;
}

/** Turns an HNSW error into plain data for a structured clone; other errors pass unchanged. */
export function errorToData(err: unknown): unknown {
  if (!(err instanceof HnswError)) return err;
  const index = err instanceof HnswValueError ? err.index : undefined;
  return { hnswError: err.name, message: err.message, value: err.value, index } satisfies HnswErrorData;
}

/** Rebuilds the typed error from {@link errorToData}'s output; other values pass unchanged. */
export function dataToError(data: unknown): unknown {
  if (typeof data !== "object" || data === null || !("hnswError" in data)) return data;
  const d = data as HnswErrorData;
  const Kind = ERRORS[d.hnswError] ?? HnswError;
  return new Kind(d.message, d.value as never, d.index ?? -1);
}

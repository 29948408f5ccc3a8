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

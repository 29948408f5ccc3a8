// Why a provider's answer had the wrong shape (valid JSON, but not what the API documents).

/** The last shape problem; `fail` sets it and returns null so parsers can `return Shape.fail(…)`. */
export class Shape {
  static problem: string = "";

  static fail<T>(problem: string): T | null {
    Shape.problem = problem;
    return null;
  }
}

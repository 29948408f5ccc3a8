// npm espeak-ng ships no types: its default export runs the espeak-ng CLI once (Emscripten MODULARIZE).
declare module "espeak-ng" {
  const ESpeakNg: (options: {
    arguments?: string[];
    preRun?: Array<(module: { FS: { writeFile(path: string, data: string | Uint8Array): void } }) => void>;
    instantiateWasm?: (imports: WebAssembly.Imports, receive: (instance: WebAssembly.Instance) => void) => object;
    print?: (s: string) => void;
    printErr?: (s: string) => void;
  }) => Promise<{ FS: { readFile(path: string): Uint8Array } }>;
  export default ESpeakNg;
}

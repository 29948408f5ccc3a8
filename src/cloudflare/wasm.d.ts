/** workerd and bundlers (wrangler, esbuild with a wasm rule) import `.wasm` files as compiled modules. */
declare module "*.wasm" {
  const module: WebAssembly.Module;
  export default module;
}

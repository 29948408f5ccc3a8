// Modules made by vite.config.ts's plugins.
declare module "virtual:clawft-doc-sentences" {
  /** The project's prose sentences (web/sentences.ts), each with the file it came from. */
  const sentences: Array<{ text: string; doc: string }>;
  export default sentences;
}

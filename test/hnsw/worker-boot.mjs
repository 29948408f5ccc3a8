// Starts workers/hnsw.worker.ts in a Node worker thread: tsx compiles the TypeScript.
import { register } from "tsx/esm/api";

register();
await import("../../workers/hnsw.worker.ts");

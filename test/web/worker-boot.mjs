// Starts the worker entry named by workerData (a path under workers/) in a Node worker
// thread, with tsx compiling the TypeScript; with workerData.crashOn, the thread also throws
// an uncaught error when it receives that string (the crash tests). That listener is added
// after the entry is listening: an earlier one would start the port and take the messages
// that arrive before comlink listens.
import { register } from "tsx/esm/api";
import { parentPort, workerData } from "node:worker_threads";

register();
await import(new URL(`../../workers/${workerData.entry}`, import.meta.url).href);
if (workerData.crashOn) {
  parentPort.on("message", (m) => {
    if (m === workerData.crashOn) throw new Error("worker crashed on purpose"); // uncaught: the thread dies
  });
}

import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";

/** A redis-server started for a test, on a loopback port. */
export interface RedisServer {
  url: string;
  port: number;
  /** Stops the server: SIGTERM (Redis saves and exits) by default, SIGKILL to make it crash. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Options of {@link startRedis}. */
export interface RedisOptions {
  /**
   * Directory for an append-only file with `appendfsync always`: every write Redis answers
   * is fsync'd first, so it survives `kill -9` of the server (restart with the same `dir`).
   * Without it the server keeps nothing on disk.
   */
  dir?: string;
  /** Port to listen on (restarting on the same one). Defaults to a free one. */
  port?: number;
}

/** A loopback TCP port that was free a moment ago (the OS picks it; the listener is closed again). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });
}

/**
 * Starts Debian's `redis-server` (installed by .ci/run); resolves `undefined` when it is not
 * installed, so the caller can report the skip.
 */
export async function startRedis(options: RedisOptions = {}): Promise<RedisServer | undefined> {
  try {
    execFileSync("redis-server", ["--version"], { stdio: "ignore" });
  } catch {
    return undefined;
  }
  const port = options.port ?? (await freePort());
  const persistence = options.dir ? ["--appendonly", "yes", "--appendfsync", "always", "--dir", options.dir] : ["--appendonly", "no"];
  const proc: ChildProcess = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", ...persistence], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    proc.stdout!.on("data", (d: Buffer) => {
      if (d.toString().includes("Ready to accept connections")) resolve();
    });
    proc.on("exit", (code) => reject(new Error(`redis-server exited with ${code}`)));
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: (signal = "SIGTERM") =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        proc.on("exit", () => resolve());
        proc.kill(signal);
      }),
  };
}

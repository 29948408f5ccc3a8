/**
 * A throwaway PostgreSQL server for tests: Debian's `postgresql` package (initdb, postgres),
 * a new cluster in a temporary directory, listening on a free loopback port (and a unix
 * socket in the same directory), trust authentication for the user `clawft`. PostgreSQL
 * refuses to run as root, so as root the cluster belongs to the `postgres` system user (or
 * `nobody`) and the programs run as it through `setpriv` (which execs, so the signals we
 * send reach the server itself); as any other user they run as that user.
 * @module
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { chown, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./redis.js";

/** A running throwaway server. */
export interface PostgresServer {
  /** e.g. `postgres://clawft@127.0.0.1:54321/postgres` */
  url: string;
  /** Stops the server (fast shutdown) and removes its directory. */
  stop(): Promise<void>;
}

/** The result of {@link startPostgres}: a server, or why there is none. */
export type PostgresStart = { server: PostgresServer; reason?: undefined } | { server?: undefined; reason: string };

/** The newest installed PostgreSQL's bin directory (`/usr/lib/postgresql/<major>/bin`), or undefined. */
function binDir(): string | undefined {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const majors = readdirSync(root)
    .filter((v) => existsSync(join(root, v, "bin", "postgres")) && existsSync(join(root, v, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  return majors.length ? join(root, majors[0]!, "bin") : undefined;
}

/** uid/gid to run the server as when we are root: `postgres`, else `nobody`. */
function unprivileged(): { uid: number; gid: number } {
  for (const user of ["postgres", "nobody"]) {
    try {
      const uid = Number(execFileSync("id", ["-u", user], { encoding: "utf8" }).trim());
      const gid = Number(execFileSync("id", ["-g", user], { encoding: "utf8" }).trim());
      if (uid > 0) return { uid, gid };
    } catch {
      // no such user: try the next
    }
  }
  throw new Error("running as root and neither a postgres nor a nobody user exists to run PostgreSQL as");
}

/**
 * Starts a throwaway PostgreSQL; resolves `{ reason }` (for the skip message) when the
 * package is not installed or the server does not come up within 30 s.
 */
export async function startPostgres(): Promise<PostgresStart> {
  const bin = binDir();
  if (!bin) return { reason: "PostgreSQL not installed (Debian package postgresql: /usr/lib/postgresql/*/bin/postgres)" };
  const dir = await mkdtemp(join(tmpdir(), "clawft-pg-"));
  const root = process.getuid?.() === 0;
  let proc: ChildProcess | undefined;
  try {
    let run = (cmd: string, args: string[]): [string, string[]] => [cmd, args];
    if (root) {
      const { uid, gid } = unprivileged();
      await chown(dir, uid, gid);
      run = (cmd, args) => ["setpriv", [`--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", "--", cmd, ...args]];
    }
    const data = join(dir, "data");
    const [initCmd, initArgs] = run(join(bin, "initdb"), ["-D", data, "-U", "clawft", "--auth=trust", "-E", "UTF8", "--no-sync", "--locale=C"]);
    execFileSync(initCmd, initArgs, { stdio: "pipe", cwd: dir });
    const port = await freePort();
    const [cmd, args] = run(join(bin, "postgres"), ["-D", data, "-p", String(port), "-k", dir, "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=50"]);
    const server = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"], cwd: dir });
    proc = server;
    let log = "";
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "ready" within 30 s:\n${log}`)), 30_000);
      server.stderr!.on("data", (d: Buffer) => {
        log += d.toString();
        if (log.includes("ready to accept connections")) {
          clearTimeout(timer);
          resolve();
        }
      });
      server.on("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`postgres exited with ${code}:\n${log}`));
      });
    });
    server.stderr!.resume();
    return {
      server: {
        url: `postgres://clawft@127.0.0.1:${port}/postgres`,
        stop: async () => {
          if (server.exitCode === null && server.signalCode === null) {
            await new Promise<void>((resolve) => {
              server.on("exit", () => resolve());
              server.kill("SIGINT"); // fast shutdown: ends sessions, checkpoints, exits
            });
          }
          await rm(dir, { recursive: true, force: true });
        },
      },
    };
  } catch (err) {
    proc?.kill("SIGKILL");
    await rm(dir, { recursive: true, force: true });
    const e = err as Error & { stderr?: Buffer };
    return { reason: `PostgreSQL did not start: ${e.message}${e.stderr ? `\n${e.stderr.toString()}` : ""}` };
  }
}

/**
 * PostgreSQL {@link Storage} (the roadmap's DatabaseAdapter) through the `postgres` package
 * (postgres.js): one table, `key text primary key, value bytea`, writes as upserts.
 * docs/storage.md.
 * @module
 */
import postgres from "postgres";
import { StorageBackendError, checkChanges, checkKey, checkValue, lastChanges, type Storage, type StorageChange } from "./index.js";

/**
 * Default value limit: postgres.js sends a bytea parameter as hex text (2 characters per
 * byte) and one PostgreSQL protocol message or field holds at most 1 GB, so 256 MiB leaves
 * the bind message well inside it.
 */
const PG_MAX_VALUE = 256 * 1024 * 1024;

/** Options of a {@link PostgresStorage}. */
export interface PostgresStorageOptions {
  /** Table holding the keys; created when missing. Defaults to `"clawft_kv"`. */
  table?: string;
  /** Largest value in bytes. Defaults to 256 MiB (see the module's note on the 1 GB message limit). */
  maxValueBytes?: number;
  /** Connections in the pool. Defaults to 4. */
  maxConnections?: number;
  /** Seconds to wait for a connection before failing. Defaults to 10. */
  connectTimeoutSeconds?: number;
}

/** Thrown for every failure of the PostgreSQL server or the connection to it; `cause` is postgres.js's error. */
export class PostgresStorageError extends StorageBackendError {
  override name = "PostgresStorageError";
  /** SQLSTATE (e.g. `"42501"`) or the client's code (e.g. `"ECONNREFUSED"`, `"CONNECT_TIMEOUT"`), when there is one. */
  readonly code: string | undefined;
  constructor(message: string, cause: unknown) {
    super(message, { cause });
    this.code = (cause as { code?: string })?.code;
  }
}

/** SQLSTATEs of a lost race between two `create table if not exists`. */
const CREATE_RACE = new Set(["23505", "42P07"]);

/**
 * PostgreSQL {@link Storage}. A resolved write is committed, and with the server's default
 * `synchronous_commit = on` its WAL is flushed to disk; a {@link PostgresStorage.commit} is
 * one transaction (all or nothing).
 */
export class PostgresStorage implements Storage {
  readonly #sql: postgres.Sql;
  readonly #ready: Promise<void>;
  readonly table: string;
  readonly maxValueBytes: number;

  /**
   * @param url connection URL, e.g. `postgres://user@127.0.0.1:5432/db` (also `postgresql://`;
   *   `?host=/socket/dir` for a unix socket).
   * @throws StorageBackendError for a table name that is not a plain identifier
   */
  constructor(url: string, options: PostgresStorageOptions = {}) {
    this.table = options.table ?? "clawft_kv";
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(this.table)) throw new StorageBackendError(`PostgreSQL table name must be a plain identifier, got ${JSON.stringify(this.table)}`);
    this.maxValueBytes = options.maxValueBytes ?? PG_MAX_VALUE;
    this.#sql = postgres(url, {
      max: options.maxConnections ?? 4,
      connect_timeout: options.connectTimeoutSeconds ?? 10,
      onnotice: () => {}, // "relation already exists, skipping"
    });
    this.#ready = this.#createTable();
    this.#ready.catch(() => {}); // reported by the first call that awaits it
  }

  async #createTable(): Promise<void> {
    try {
      await this.#sql`create table if not exists ${this.#sql(this.table)} (key text collate "C" primary key, value bytea not null)`;
    } catch (err) {
      if (!CREATE_RACE.has((err as { code?: string }).code ?? "")) throw err;
    }
  }

  /** Runs `fn` once the table exists; every failure becomes a {@link PostgresStorageError}. */
  async #run<T>(what: string, fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
    try {
      await this.#ready;
      return await fn(this.#sql);
    } catch (err) {
      throw new PostgresStorageError(`PostgreSQL ${what} failed: ${(err as Error)?.message ?? err}`, err);
    }
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    checkKey(key);
    const rows = await this.#run("get", (sql) => sql<Array<{ value: Buffer }>>`select value from ${sql(this.table)} where key = ${key}`);
    return rows.length ? new Uint8Array(rows[0]!.value) : undefined;
  }

  async set(key: string, value: Uint8Array): Promise<void> {
    checkValue(checkKey(key), value, this.maxValueBytes);
    await this.#run("set", (sql) => this.#upsert(sql, key, value));
  }

  #upsert(sql: postgres.Sql | postgres.TransactionSql, key: string, value: Uint8Array) {
    return sql`insert into ${sql(this.table)} (key, value) values (${key}, ${Buffer.from(value.buffer, value.byteOffset, value.byteLength)})
      on conflict (key) do update set value = excluded.value`;
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    await this.#run("delete", (sql) => sql`delete from ${sql(this.table)} where key = ${key}`);
  }

  /** One transaction: every change or none. */
  async commit(changes: readonly StorageChange[]): Promise<void> {
    checkChanges(changes, this.maxValueBytes);
    const last = lastChanges(changes);
    await this.#run("commit", (sql) =>
      sql.begin(async (tx) => {
        for (const [key, value] of last) {
          if (value) await this.#upsert(tx, key, value);
          else await tx`delete from ${tx(this.table)} where key = ${key}`;
        }
      }),
    );
  }

  async keys(prefix = ""): Promise<string[]> {
    const pattern = `${prefix.replace(/[\\%_]/g, "\\$&")}%`;
    const rows = await this.#run("keys", (sql) => sql<Array<{ key: string }>>`select key from ${sql(this.table)} where key like ${pattern}`);
    return rows.map((r) => r.key);
  }

  /** Ends the pool's connections (waits up to 5 s for running queries). */
  async close(): Promise<void> {
    await this.#sql.end({ timeout: 5 });
  }
}

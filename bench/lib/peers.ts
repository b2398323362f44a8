/**
 * The peers, loaded from bench/'s own install (`npm --prefix bench install`). They are imported
 * dynamically through a name held in a variable and typed by the small interfaces below, so the
 * root `tsc -p .` never resolves them and typechecks bench/ without bench/node_modules.
 */

/** The part of better-sqlite3's API the benchmarks use. */
export interface SqliteStatement {
  run(...params: ReadonlyArray<unknown>): unknown
  iterate(...params: ReadonlyArray<unknown>): IterableIterator<unknown>
  raw(toggle?: boolean): SqliteStatement
}

export interface SqliteDatabase {
  pragma(source: string): unknown
  prepare(source: string): SqliteStatement
  exec(source: string): unknown
  transaction<F extends (...args: Array<never>) => unknown>(fn: F): F
  close(): void
}

export type SqliteConstructor = new (path: string) => SqliteDatabase

/** The part of classic-level's API the benchmarks use (Uint8Array keys and values). */
export interface LevelBatchOp {
  readonly type: "put"
  readonly key: Uint8Array
  readonly value: Uint8Array
}

export interface LevelIterator {
  nextv(size: number): Promise<Array<[Uint8Array, Uint8Array]>>
  close(): Promise<void>
}

export interface LevelDatabase {
  open(): Promise<void>
  put(key: Uint8Array, value: Uint8Array, options: { readonly sync: boolean }): Promise<void>
  batch(ops: ReadonlyArray<LevelBatchOp>, options: { readonly sync: boolean }): Promise<void>
  iterator(options: { readonly keyEncoding: "view"; readonly valueEncoding: "view" }): LevelIterator
  close(): Promise<void>
}

export type LevelConstructor = new (
  location: string,
  options: { readonly keyEncoding: "view"; readonly valueEncoding: "view" }
) => LevelDatabase

const load = async <A>(name: string, pick: (module: Record<string, unknown>) => unknown): Promise<A | undefined> => {
  try {
    const module = (await import(name)) as Record<string, unknown>
    return pick(module) as A
  } catch (error) {
    console.error(`  peer ${name} not available (${(error as Error).message.split("\n")[0]}); run npm --prefix bench install`)
    return undefined
  }
}

const sqliteName = "better-sqlite3"
const levelName = "classic-level"

export const loadSqlite = (): Promise<SqliteConstructor | undefined> =>
  load<SqliteConstructor>(sqliteName, (m) => m.default)

export const loadLevel = (): Promise<LevelConstructor | undefined> =>
  load<LevelConstructor>(levelName, (m) => m.ClassicLevel)

/**
 * A SQLite table `(seq INTEGER PRIMARY KEY, payload BLOB)` in WAL journal mode, with
 * `synchronous=FULL` when `durable` (every commit fsynced) and `NORMAL` otherwise (WAL mode then
 * syncs only at checkpoints).
 */
export const openSqlite = (Sqlite: SqliteConstructor, path: string, durable: boolean) => {
  const db = new Sqlite(path)
  db.pragma("journal_mode = WAL")
  db.pragma(`synchronous = ${durable ? "FULL" : "NORMAL"}`)
  db.exec("CREATE TABLE IF NOT EXISTS log (seq INTEGER PRIMARY KEY, payload BLOB)")
  const insert = db.prepare("INSERT INTO log (seq, payload) VALUES (?, ?)")
  const insertMany = db.transaction((first: number, batch: ReadonlyArray<Uint8Array>) => {
    for (let i = 0; i < batch.length; i++) insert.run(first + i, batch[i])
  })
  return { db, insert, insertMany }
}

/** A big-endian 8-byte key, so LevelDB's byte order is sequence order. */
export const levelKey = (seq: number): Uint8Array => {
  const key = new Uint8Array(8)
  new DataView(key.buffer).setBigUint64(0, BigInt(seq))
  return key
}

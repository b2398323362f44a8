/**
 * What Effect's chunk backing costs a process that replays again and again: W4's replay (the
 * WAL's `replay()` of 1,000,000 entries of 100 B under `NodeFastFileSystem`, consumed with
 * `Stream.runForEachChunk`, each chunk held until the next) repeated `--rounds` times in one
 * process, in fresh processes of two kinds, alternating:
 *
 * - "Effect as installed": `Chunk.unsafeFromArray` wraps every array in `{ _tag: "IArray", array }`,
 *   an object literal. V8 tracks an object literal as an allocation site and, once most of the
 *   objects it made outlived a young collection, allocates all of its later objects in the old
 *   generation. An old backing keeps its array, and every entry in it, alive through young
 *   collections until the next full one, whatever the consumer does with the chunk.
 * - "class-built backing": the same process with `Chunk.unsafeFromArray` making its backing with
 *   a class (`new IArrayBacking(array)`, same fields), which V8 never allocates old by site. A
 *   module load hook rewrites `effect/dist/esm/Chunk.js` for that process only; nothing on disk
 *   changes. This is the change that would end the slow rounds in Effect itself.
 * - "--no-allocation-site-pretenuring": Effect as installed, in a process started with that V8 flag,
 *   which turns off pretenuring by allocation site for every literal: what an application can do
 *   today without changing Effect.
 *
 * Each process prints its rounds; the table gives, per kind, the median of the rounds in the
 * second half of every process (the first rounds are V8's warm-up, bench/README.md "What holds
 * a sink's chunks").
 *
 *   npx tsx bench/chunk-backing.ts [--rounds 14] [--processes 3] [--count 1000000]
 */
import { Chunk, Effect, Stream } from "effect"
import { spawnSync } from "node:child_process"
import * as NFS from "node:fs"
import * as Path from "node:path"
import * as Durability from "../src/Durability.js"
import * as Wal from "../src/Wal.js"
import { compile } from "./lib/compile.js"
import { argument, fmt, makeTempDir, median, removeDir } from "./lib/harness.js"
import { layers, runWith } from "./lib/systems.js"

const ROUNDS = argument("rounds", 14)
const PROCESSES = argument("processes", 3)
const COUNT = argument("count", 1_000_000)
const BATCH = 1000

/** The source `Chunk.unsafeFromArray` has in Effect 3's ES modules, and what the hook puts in its place. */
const LITERAL = "makeChunk({\n  _tag: \"IArray\",\n  array: self\n})"
const CLASS_BUILT = "makeChunk(new IArrayBacking(self))"
const BACKING_CLASS = "class IArrayBacking { constructor(array) { this._tag = \"IArray\"; this.array = array } }\n"

/** A module load hook that builds `Chunk.unsafeFromArray`'s backing with a class; fails the load if the source is not as expected. */
const hooks = `
export async function load(url, context, nextLoad) {
  const loaded = await nextLoad(url, context)
  if (!url.endsWith("/effect/dist/esm/Chunk.js")) return loaded
  const source = String(loaded.source)
  if (!source.includes(${JSON.stringify(LITERAL)})) throw new Error("effect's Chunk.unsafeFromArray is not the literal this hook replaces")
  return { ...loaded, source: ${JSON.stringify(BACKING_CLASS)} + source.replace(${JSON.stringify(LITERAL)}, ${JSON.stringify(CLASS_BUILT)}) }
}`
const dataUrl = (source: string) => `data:text/javascript,${encodeURIComponent(source)}`
const registerHooks = dataUrl(`import { register } from "node:module"; register(${JSON.stringify(dataUrl(hooks))})`)

type Kind = "Effect as installed" | "class-built backing" | "--no-allocation-site-pretenuring"
const kinds: ReadonlyArray<Kind> = ["Effect as installed", "class-built backing", "--no-allocation-site-pretenuring"]

/** The node options of a process of each kind. */
const nodeOptions: Record<Kind, ReadonlyArray<string>> = {
  "Effect as installed": [],
  "class-built backing": ["--import", registerHooks],
  "--no-allocation-site-pretenuring": ["--no-allocation-site-pretenuring"]
}

/** One replay of the whole log, holding each chunk until the next; entries/s. */
const replay = (directory: string) =>
  runWith(
    layers["wal-fast"],
    Effect.flatMap(Wal.reader({ directory }), (reader) =>
      Effect.suspend(() => {
        let count = 0
        const started = performance.now()
        return Effect.map(
          Stream.runForEachChunk(reader.replay(), (chunk) =>
            Effect.sync(() => {
              for (const entry of chunk) count += entry.payload.length > 0 ? 1 : 0
            })),
          () => {
            if (count !== COUNT) throw new Error(`replayed ${count} of ${COUNT}`)
            return (COUNT / (performance.now() - started)) * 1000
          }
        )
      }))
  )

const child = async (directory: string) => {
  const backing = (Chunk.unsafeFromArray([1, 2]) as unknown as { readonly backing: object }).backing
  const rates: Array<number> = []
  for (let round = 0; round < ROUNDS; round++) rates.push(await replay(directory))
  console.log(JSON.stringify({ backing: backing.constructor.name, rates }))
}

const parent = async () => {
  const dir = makeTempDir("chunk-backing")
  const compiled = await compile(`import "./chunk-backing.ts"\n`, "chunk-backing")
  try {
    const directory = Path.join(dir, "wal")
    await runWith(
      layers["wal-fast"],
      Effect.gen(function*() {
        const log = yield* Wal.make({ directory, durability: Durability.none })
        const batch = Array.from({ length: BATCH }, () => new Uint8Array(100).fill(7))
        for (let i = 0; i < COUNT; i += BATCH) yield* log.appendAll(batch)
        yield* log.sync
      })
    )
    const late: Record<Kind, Array<number>> = { "Effect as installed": [], "class-built backing": [], "--no-allocation-site-pretenuring": [] }
    for (let index = 0; index < PROCESSES; index++) {
      for (const kind of index % 2 === 0 ? kinds : [...kinds].reverse()) {
        const args = [...nodeOptions[kind], compiled, "--child", directory, "--rounds", `${ROUNDS}`, "--count", `${COUNT}`]
        const run = spawnSync(process.execPath, args, { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] })
        if (run.status !== 0) throw new Error(`${kind}: the child process exited with ${run.status}`)
        const { backing, rates } = JSON.parse(run.stdout) as { backing: string; rates: Array<number> }
        if ((backing === "IArrayBacking") !== (kind === "class-built backing")) throw new Error(`${kind}: the chunk backing is a ${backing}`)
        console.error(`  [${kind}] ${rates.map((rate) => (rate / 1e6).toFixed(2)).join(" ")} M entries/s`)
        late[kind].push(...rates.slice(Math.floor(ROUNDS / 2)))
      }
    }
    console.log(`### Replaying ${fmt(COUNT)} entries ${ROUNDS} times per process, holding each chunk (${PROCESSES} processes of each kind)\n`)
    console.log("| process | entries/s in the second half of each process, median (min-max) |\n|---|---:|")
    for (const kind of kinds) {
      const rates = late[kind]
      console.log(`| ${kind} | ${fmt(median(rates))} (${fmt(Math.min(...rates))}-${fmt(Math.max(...rates))}) |`)
    }
  } finally {
    NFS.rmSync(compiled, { force: true })
    removeDir(dir)
  }
}

const childIndex = process.argv.indexOf("--child")
await (childIndex === -1 ? parent() : child(process.argv[childIndex + 1]!))

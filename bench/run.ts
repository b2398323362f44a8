/**
 * Runs every workload, each in its own process, and prints the tables with the machine, Node and
 * filesystem they were measured on. `npm run bench` from the repository root installs the peers
 * (bench/package.json) first. Data goes under the OS temp directory and is removed afterwards.
 * Every workload runs compiled (esbuild, see lib/compile.ts) under plain `node`, as a production
 * application would; a single script can still be run from its sources with `npx tsx bench/<script>`.
 *
 *   npx tsx bench/run.ts [--quick] [--only W1,W2,...]
 */
import { spawnSync } from "node:child_process"
import * as NFS from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { compile } from "./lib/compile.js"
import { environment, fmt, median, RESULT_PREFIX } from "./lib/harness.js"
import type { MemorySample } from "./lib/memoryWorkload.js"

const here = Path.dirname(fileURLToPath(import.meta.url))
const quick = process.argv.includes("--quick")
const onlyIndex = process.argv.indexOf("--only")
const only = onlyIndex === -1 ? undefined : new Set(process.argv[onlyIndex + 1]!.split(","))

/** tmpfs, where an fsync costs nothing: the CPU-bound workloads are judged there against the Effect floor. */
const TMPFS = "/dev/shm"
const tmpfs = NFS.existsSync(TMPFS) ? { TMPDIR: TMPFS } : undefined

/** Whether `nats-server` is on the PATH: the JetStream workloads start their own servers with it. */
const natsServer = spawnSync("nats-server", ["--version"], { stdio: "ignore" }).status === 0

const jobs: Array<{
  readonly name: string
  readonly script: string
  readonly args: ReadonlyArray<string>
  readonly env?: Record<string, string> | undefined
  /** A launcher that compiles the workload it measures itself and runs it in child processes: run from its source. */
  readonly launcher?: true
}> = [
  { name: "W1", script: "w1-durable-one-at-a-time.ts", args: quick ? ["--runs", "3"] : ["--runs", "5"] },
  ...(tmpfs === undefined ? [] : [{ name: "W1", script: "w1-durable-one-at-a-time.ts", args: quick ? ["--runs", "3", "--count", "20000"] : ["--runs", "5", "--count", "20000"], env: tmpfs }]),
  { name: "W2", script: "w2-group-commit.ts", args: quick ? ["--runs", "3"] : ["--runs", "5"] },
  ...(tmpfs === undefined ? [] : [{ name: "W2", script: "w2-group-commit.ts", args: quick ? ["--runs", "3"] : ["--runs", "5"], env: tmpfs }]),
  { name: "W2", script: "w2-group-commit.ts", args: [...(quick ? ["--runs", "3"] : ["--runs", "5"]), "--shape", "per-append"] },
  ...(tmpfs === undefined ? [] : [{ name: "W2", script: "w2-group-commit.ts", args: [...(quick ? ["--runs", "3"] : ["--runs", "5"]), "--shape", "per-append"], env: tmpfs }]),
  { name: "W3", script: "w3-w4-bulk.ts", args: quick ? ["--runs", "1", "--small", "200000", "--large", "20000"] : ["--runs", "3"] },
  // What Effect's chunk backing makes of W4 in a process that replays again and again: both modes
  // of W4's replays, and the cause (bench/README.md, "What holds a sink's chunks").
  { name: "W4-modes", script: "chunk-backing.ts", args: quick ? ["--rounds", "6", "--processes", "1", "--count", "200000"] : [], launcher: true },
  { name: "W5", script: "w5-open.ts", args: quick ? ["--runs", "1", "--mib", "256"] : ["--runs", "3"] },
  { name: "W6", script: "w6-tail-latency.ts", args: quick ? ["--runs", "1", "--count", "1000"] : ["--runs", "5"] },
  ...(natsServer ? [{ name: "JetStream", script: "jetstream.ts", args: quick ? ["--runs", "1"] : ["--runs", "5"] }] : []),
  ...[["wal-fast"], ["wal-node"], ["wal-fast", "8"]].map(([layer, tails]) => ({
    name: "memory",
    script: "memory.ts",
    launcher: true as const,
    args: ["--layer", layer!, ...(tails === undefined ? [] : ["--tails", tails]), ...(quick ? ["--mib", "256"] : [])]
  }))
]

const env = environment()
console.log(`# effect-wal benchmarks\n`)
console.log(Object.entries(env).map(([k, v]) => `- ${k}: ${v}`).join("\n") + "\n")
const started = performance.now()
const results: Array<unknown> = []
const memory: Array<{
  system: string
  runtime: string
  peakRssMiB: number
  baselineRssMiB: number
  atPeak: MemorySample
  mib: number
  writerMiBs: number
}> = []
for (const job of jobs) {
  if (only !== undefined && !only.has(job.name)) continue
  const runs = job.name === "memory" && !quick ? 3 : 1
  for (let run = 0; run < runs; run++) {
    console.error(`> ${job.env === undefined ? "" : `TMPDIR=${job.env.TMPDIR} `}${job.script} ${job.args.join(" ")}`)
    // A launcher compiles the workload it measures itself (the memory launcher, so that it can
    // measure the child alone); every other workload is compiled here and run by plain node, as an
    // application would run.
    const compiled = job.launcher ? undefined : await compile(`import "./${job.script}"\n`, job.name)
    const child = spawnSync(
      process.execPath,
      [...(compiled === undefined ? ["--import", "tsx", Path.join(here, job.script)] : [compiled]), ...job.args],
      {
        cwd: Path.dirname(here),
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
        maxBuffer: 64 * 1024 * 1024,
        env: { ...process.env, ...job.env }
      }
    )
    if (compiled !== undefined) NFS.rmSync(compiled, { force: true })
    if (job.env !== undefined) console.log(`The next table was measured on tmpfs (TMPDIR=${job.env.TMPDIR}): fsync costs nothing there, so CPU is what counts.\n`)
    for (const line of child.stdout.split("\n")) {
      if (line.startsWith(RESULT_PREFIX)) {
        const parsed = JSON.parse(line.slice(RESULT_PREFIX.length))
        results.push(parsed)
        if (job.name === "memory") memory.push(parsed)
      } else if (line.length > 0 || job.name !== "memory") console.log(line)
    }
    if (child.status !== 0) console.log(`\n**${job.script} failed with status ${child.status}**\n`)
  }
}
if (memory.length > 0) {
  console.log("### Memory: peak RSS appending 2 GiB with a tail consumer 10x slower than the writer (with 8 tails: 7 more that keep up)\n")
  console.log("| system | peak RSS MiB, median (min-max) | RSS at start MiB | at the largest sampled RSS: V8 heap / ArrayBuffers MiB | appended MiB | writer MiB/s |")
  console.log("|---|---:|---:|---:|---:|---:|")
  for (const system of ["wal-fast", "wal-node", "wal-fast, 8 tails"]) {
    const rows = memory.filter((m) => m.system === system)
    if (rows.length === 0) continue
    const peaks = rows.map((r) => r.peakRssMiB)
    console.log(`| ${system} | ${fmt(median(peaks))} (${fmt(Math.min(...peaks))}-${fmt(Math.max(...peaks))}) | ${fmt(median(rows.map((r) => r.baselineRssMiB)))} | ${fmt(median(rows.map((r) => r.atPeak.heapTotal)))} / ${fmt(median(rows.map((r) => r.atPeak.arrayBuffers)))} | ${rows[0]!.mib} | ${fmt(median(rows.map((r) => r.writerMiBs)))} |`)
  }
  console.log("")
  console.log(`- Peak RSS is the whole process's VmHWM. The process runs ${memory[0]!.runtime} (bench/memory.ts says why).`)
  console.log("")
}
const out = Path.join(Os.tmpdir(), "effect-wal-bench-results.json")
NFS.writeFileSync(out, JSON.stringify({ environment: env, results }, null, 2))
console.log(`Total ${fmt((performance.now() - started) / 60000)} min. Raw results: ${out}`)

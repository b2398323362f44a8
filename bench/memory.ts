/**
 * Memory: peak RSS of a process appending 2 GiB (4 KiB entries in `appendAll` batches of 128 KiB,
 * strict) while a tail consumer reads 10x slower than the writer (it never gets more than a tenth
 * of the appended entries ahead); `--tails 8` adds 7 tails that keep up with the writer. Run once
 * per layer, and once with 8 tails, each in its own process, by `run.ts`.
 *
 *   npx tsx bench/memory.ts [--layer wal-fast|wal-node] [--tails 1] [--mib 2048] [--batch 32] [--source]
 *
 * The measured process runs the code as an application runs in production: compiled JavaScript
 * under plain `node`, no TypeScript loader. This script (run by tsx) only compiles the workload
 * (`lib/memoryWorkload.ts` with the library's sources) with esbuild into one ES module, with the
 * dependencies (`effect`, `@effect/*`) left as imports that Node resolves from node_modules as it
 * would for an application compiled with `tsc`, then runs it with `node` in a child process and
 * exits with its status. The figures printed are the child's: its whole peak RSS (VmHWM, every
 * resident byte of the process), its RSS at start, and `process.memoryUsage()` at start and at the
 * largest sampled RSS. The launcher itself is not measured.
 *
 * Why: under tsx the same process starts at about 190 MiB instead of about 120 MiB (measured on
 * Node 20 with Effect and the library imported). tsx runs its loader hooks on a second thread with
 * its own V8 isolate (about 30-35 MiB with nothing imported, more as it compiles modules), and the
 * main isolate's heap is about 20 MiB larger (tsx itself, the transpiled sources, and their source
 * maps, which Node keeps because tsx enables source maps). A user running compiled code pays none
 * of that; the run itself adds the same amount either way. `--source` runs the workload in this
 * process from the TypeScript sources instead (the figure then includes tsx), for comparison.
 */
import { spawnSync } from "node:child_process"
import * as NFS from "node:fs"
import { compile } from "./lib/compile.js"

const inProcess = async (): Promise<void> => {
  const { main } = await import("./lib/memoryWorkload.js")
  await main("tsx, from the TypeScript sources")
}

const compiled = async (): Promise<number> => {
  const outfile = await compile(`import { main } from "./lib/memoryWorkload.ts"\nawait main("node, compiled with esbuild")\n`, "memory")
  try {
    const child = spawnSync(process.execPath, [outfile, ...process.argv.slice(2)], { stdio: "inherit" })
    if (child.error !== undefined) throw child.error
    return child.status ?? 1
  } finally {
    NFS.rmSync(outfile, { force: true })
  }
}

if (process.argv.includes("--source")) await inProcess()
else process.exitCode = await compiled()

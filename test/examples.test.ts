/**
 * Runs every example in examples/ as a real process from the repository root, compiled and on the
 * package's build with plain node (see processes.ts), and checks that it exits 0 and prints the
 * line that shows it did its job. An example added later without an entry below
 * is still run and must exit 0.
 */
import * as NodeFs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { natsServerAvailable, startCluster } from "./jetstream/cluster.js"
import { compiled, root, startNode } from "./processes.js"

const examplesDir = Path.join(root, "examples")

interface Run {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

const runExample = (name: string, args: ReadonlyArray<string> = []): Promise<Run> =>
  new Promise((resolve, reject) => {
    const child = startNode(compiled(`examples/${name}`), args, { cwd: root })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (data: Buffer) => {
      stdout += data.toString("utf8")
    })
    child.stderr.on("data", (data: Buffer) => {
      stderr += data.toString("utf8")
    })
    child.on("error", reject)
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }))
  })

const expectSuccess = (run: Run) => {
  expect({ code: run.code, signal: run.signal }, `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`).toEqual({ code: 0, signal: null })
}

/** The lines each example must print. */
const expectations: Record<string, ReadonlyArray<RegExp>> = {
  "service-layer.ts": [
    /^app: recorded up to seq 61; user-0 logged in 15 times$/m,
    /^LOCKED: .* is open for writing by pid \d+ on /m,
    /^FORMAT \(codec-mismatch\): /m,
    /^CORRUPTION: .*\.wal at offset 128: checksum mismatch/m
  ],
  "tail-consumer.ts": [/^consumer stopped after 300 entries; the log ends at seq 300$/m, /^projection matches a full replay: true$/m],
  "crash-recovery.ts": [
    /^recovery: lockTakenOver=pid \d+ on /m,
    /^every acknowledged entry recovered: true$/m,
    /^after 100 bytes of a torn write at the end of the active segment: tornTail=cut 100 bytes /m
  ],
  "group-commit.ts": [/^strict +\d+ +\d+ +\d+ /m, /^grouped 2 ms +\d+/m, /^buffered 10 ms \/ 1 MiB +\d+/m, /^none +\d+ +\d+ +0 /m],
  "event-sourced-kv.ts": [/^rebuilt from the checkpoint matches the live state: true$/m]
}

const examples = NodeFs.readdirSync(examplesDir).filter((name) => name.endsWith(".ts")).sort()
const scratch = NodeFs.mkdtempSync(Path.join(Os.tmpdir(), "effect-wal-examples-"))
afterAll(() => NodeFs.rmSync(scratch, { recursive: true, force: true }))

describe("examples", () => {
  it("every example has a header comment saying what it shows", () => {
    expect(examples).toContain("quickstart.ts")
    for (const name of examples) {
      expect(NodeFs.readFileSync(Path.join(examplesDir, name), "utf8"), name).toMatch(/^\/\*\*\n \* \S/)
    }
  })

  it("quickstart.ts runs twice in a row on the same directory; the second run replays the first run's entries", async () => {
    const directory = Path.join(scratch, "quickstart")
    const first = await runExample("quickstart.ts", [directory])
    expectSuccess(first)
    expect(first.stdout).toMatch(/^appended 100 entries \(seq 1\.\.100\) and a batch of 3 \(seq 101, 102, 103\)$/m)
    expect(first.stdout).toMatch(/^recovery: created=false segments=1 lastSequence=103 tornTail=none elapsed=\d+ ms$/m)
    expect(first.stdout).toMatch(/^replayed 103 entries: /m)
    expect(first.stdout).toMatch(/^tail: seq 106 acct-live 3$/m)
    const second = await runExample("quickstart.ts", [directory])
    expectSuccess(second)
    expect(second.stdout).toMatch(/^appended 100 entries \(seq 107\.\.206\)/m)
    expect(second.stdout).toMatch(/^replayed 209 entries: /m)
    expect(second.stdout).toMatch(/^done: the log in .* now ends at seq 212$/m)
  }, 60_000)

  it("jetstream.ts says what to start when no server is reachable and exits 1; on a server it appends, replays and tails", async () => {
    const unreachable = await runExample("jetstream.ts", ["nats://127.0.0.1:1"])
    expect(unreachable.code).toBe(1)
    expect(unreachable.stderr).toMatch(/^no NATS server with JetStream at nats:\/\/127\.0\.0\.1:1\.$/m)
    expect(unreachable.stderr).toMatch(/nats-server -js/)
    if (!natsServerAvailable()) return
    const server = await startCluster(1)
    try {
      const run = await runExample("jetstream.ts", [server.servers[0]!])
      expectSuccess(run)
      expect(run.stdout).toMatch(/^appended 100 entries from 32 fibers: seq 1\.\.100$/m)
      expect(run.stdout).toMatch(/^replay from 95: 8 entries, last seq 102$/m)
      expect(run.stdout).toMatch(/^tail from 101: seq 101, 102, 103$/m)
    } finally {
      await server.stop()
    }
  }, 60_000)

  for (const name of examples.filter((name) => name !== "quickstart.ts" && name !== "jetstream.ts")) {
    it(`${name} exits 0 and prints what it shows`, async () => {
      const run = await runExample(name)
      expectSuccess(run)
      for (const pattern of expectations[name] ?? []) expect(run.stdout).toMatch(pattern)
    }, 60_000)
  }
})

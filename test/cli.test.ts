import { NodeContext } from "@effect/platform-node"
import { afterAll, afterEach, describe, expect, it, vi } from "@effect/vitest"
import { Clock, Effect, Either, Layer, Option } from "effect"
import * as NodeFs from "node:fs"
import { hostname } from "node:os"
import * as Path from "node:path"
import { ExitCode, run } from "../src/cli/main.js"
import * as Render from "../src/cli/render.js"
import { Codec, Wal } from "../src/index.js"
import { decodeHeader, encodeHeader } from "../src/internal/format/header.js"
import * as F from "./fixtures/inspect.js"
import { dist, root, startNode } from "./processes.js"

const { cleanup, fresh } = F.trackedDirs()
afterAll(cleanup)

interface Outcome {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs the `effect-wal` binary, the package's build (`dist/bin/cli.js`), as a real process with plain node. */
const binary = (...args: Array<string>): Promise<Outcome> =>
  new Promise((resolve, reject) => {
    const child = startNode(Path.join(dist, "bin", "cli.js"), args, { cwd: root, env: { ...process.env, NO_COLOR: "1" } })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk) => (stdout += chunk))
    child.stderr.on("data", (chunk) => (stderr += chunk))
    child.on("error", reject)
    child.on("close", (code) => resolve({ code, stdout, stderr }))
  })

/**
 * Runs the CLI in this process, as the binary does (`run` on Node's context), and returns its exit
 * code and what it printed to stdout and stderr (the Console service writes through `console`).
 */
const cli = async (...args: Array<string>): Promise<Outcome> => {
  let stdout = ""
  let stderr = ""
  const log = vi.spyOn(console, "log").mockImplementation((...values) => void (stdout += `${values.join(" ")}\n`))
  const error = vi.spyOn(console, "error").mockImplementation((...values) => void (stderr += `${values.join(" ")}\n`))
  try {
    const code = await Effect.runPromise(run(["node", "effect-wal", ...args]).pipe(Effect.provide(NodeContext.layer)))
    return { code, stdout, stderr }
  } finally {
    log.mockRestore()
    error.mockRestore()
  }
}

/** A WAL written with a codec of its own, unknown to the CLI. */
const customCodec = (dir: string) =>
  Effect.runPromise(
    Effect.scoped(Effect.gen(function*() {
      const wal = yield* Wal.make({ directory: dir, schema: F.Event })
      yield* wal.append({ n: 1, text: "secret" })
      yield* wal.append({ n: 2, text: "secret" })
    })).pipe(Effect.provide(Layer.merge(NodeContext.layer, Codec.layer({ ...Codec.json, id: "rot13" }))))
  ).then(() => dir)

describe("the effect-wal binary as a process", () => {
  it("prints results on stdout and errors on stderr, with the documented exit codes (usage errors: in process)", async () => {
    const help = await binary("--help")
    expect(help.code).toBe(ExitCode.ok)
    expect(help.stdout).toContain("Exit codes: 0 ok; 1 corruption or format problem found; 2 usage error; 3 locked by a live writer; 4 I/O error.")
    const dir = await F.corruptMiddle(fresh())
    const [first] = F.segmentPaths(dir)
    const verified = await binary("verify", dir)
    expect(verified).toMatchObject({ code: ExitCode.problem, stderr: "" })
    expect(verified.stdout).toContain(`corruption: ${first} at offset ${F.secondFrame(first!)}: checksum mismatch`)
    const missing = await binary("stats", Path.join(fresh(), "missing"))
    expect(missing).toMatchObject({ code: ExitCode.io, stdout: "" })
    expect(missing.stderr).toMatch(/^effect-wal: readDirectory failed on .*missing \(ENOENT\)/)
  })

  it("repair exits 3 while a writer in another process holds the lock", async () => {
    const dir = await F.corruptMiddle(fresh())
    const locked = await Effect.runPromise(
      Effect.scoped(Effect.flatMap(Wal.make({ directory: dir, schema: F.Event, verify: "tail" }), () =>
        Effect.promise(() => binary("repair", "--truncate-at-corruption", dir)))).pipe(Effect.provide(NodeContext.layer))
    )
    expect(locked.code).toBe(ExitCode.locked)
    expect(locked.stderr.trim()).toBe(`effect-wal: the WAL in ${dir} is locked by pid ${process.pid} on ${hostname()}`)
  })
})

describe("effect-wal commands", () => {
  it("inspect prints a description, and --json one JSON document", async () => {
    const dir = await F.healthy(fresh())
    const text = await cli("inspect", dir)
    expect(text.code).toBe(0)
    expect(text.stdout).toMatch(/codec\s+json/)
    expect(text.stdout).toMatch(/last sequence\s+44/)
    expect(text.stdout).toMatch(/last checkpoint\s+20/)
    expect(text.stdout).toMatch(/00000000000000000001-00000000000000000001\.wal\s+sealed\s+1-\d+/)
    const json = await cli("inspect", "--json", dir)
    const d = JSON.parse(json.stdout)
    expect(d).toMatchObject({ version: 1, codecId: "json", lastSequence: 44, lock: null, tornTail: null })
    expect(d.segments.at(-1).state).toBe("active")
  })

  it("verify exits 0 on a healthy log and on a torn tail, which it reports", async () => {
    const healthy = await cli("verify", await F.healthy(fresh()))
    expect(healthy).toMatchObject({ code: 0, stderr: "" })
    expect(healthy.stdout).toMatch(/^ok: \d+ segments, 47 frames, 44 entries/)
    const torn = await cli("verify", await F.tornTail(fresh()))
    expect(torn.code).toBe(0)
    expect(torn.stdout).toMatch(/^torn tail: .*00000000000000000004-\d+\.wal at offset 128: incomplete frame/)
  })

  it("verify exits 1 naming the file and offset of the first corruption, --all lists every one", async () => {
    const dir = await F.corruptMiddle(fresh())
    const [first, second] = F.segmentPaths(dir)
    const one = await cli("verify", dir)
    expect(one.code).toBe(1)
    expect(one.stdout).toContain(`corruption: ${first} at offset ${F.secondFrame(first!)}: checksum mismatch`)
    expect(one.stdout).toMatch(/FAILED: 1 problem .*--all lists every one/)
    F.flip(second!, F.secondFrame(second!) + 40)
    const all = await cli("verify", "--all", dir)
    expect(all.code).toBe(1)
    expect(all.stdout.split("\n").filter((l) => l.startsWith("corruption:"))).toHaveLength(2)
  })

  it("dump prints JSON lines with payloads decoded by the header's codec", async () => {
    const json = await cli("dump", await F.healthy(fresh()), "--from", "19", "--to", "21")
    expect(json.code).toBe(0)
    expect(json.stdout.trim().split("\n").map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({ seq: 19, kind: "data", payload: { n: 19, text: "x".repeat(19) } }),
      expect.objectContaining({ seq: 20, kind: "checkpoint", payload: { n: 20, text: "checkpoint" } }),
      expect.objectContaining({ seq: 21, kind: "data", payload: { n: 21, text: "" } })
    ])
    const gzip = await F.healthy(fresh(), Codec.layer(Codec.withTransform(Codec.msgpack, Codec.gzip)))
    const packed = await cli("dump", gzip, "--from", "44")
    expect(JSON.parse(packed.stdout)).toMatchObject({ seq: 44, payload: { n: 44, text: "c" } })
    const raw = await cli("dump", await F.rawBytes(fresh()))
    expect(raw.stdout.trim().split("\n").map((l) => JSON.parse(l).payload)).toEqual(["AQID", "aGVsbG8="])
  })

  it("dump prints an unknown codec's payloads as base64 and says so once", async () => {
    const out = await cli("dump", await customCodec(fresh()))
    expect(out.code).toBe(0)
    expect(out.stdout.trim().split("\n").map((l) => JSON.parse(l).payload)).toEqual([
      Buffer.from(JSON.stringify({ n: 1, text: "secret" })).toString("base64"),
      Buffer.from(JSON.stringify({ n: 2, text: "secret" })).toString("base64")
    ])
    expect(out.stderr.trim().split("\n")).toEqual(['effect-wal: codec "rot13" is unknown to this build: payloads are printed as base64'])
  })

  it("repair refuses without the flag (2) and while a writer holds the lock (3), then repairs", async () => {
    const dir = await F.corruptMiddle(fresh())
    const refused = await cli("repair", dir)
    expect(refused.code).toBe(2)
    expect(refused.stderr).toMatch(/^effect-wal: repair changes the log: pass --truncate-at-corruption/)

    const locked = await Effect.runPromise(
      Effect.scoped(Effect.flatMap(Wal.make({ directory: dir, schema: F.Event, verify: "tail" }), () =>
        Effect.promise(() => cli("repair", "--truncate-at-corruption", dir)))).pipe(Effect.provide(NodeContext.layer))
    )
    expect(locked.code).toBe(3)
    expect(locked.stderr.trim()).toBe(`effect-wal: the WAL in ${dir} is locked by pid ${process.pid} on ${hostname()}`)

    const repaired = await cli("repair", "--truncate-at-corruption", dir)
    expect(repaired.code).toBe(0)
    expect(repaired.stdout).toMatch(/^corruption: .* at offset \d+: checksum mismatch/)
    expect(repaired.stdout).toContain("the log now ends at sequence 1 and opens cleanly")
    const again = await cli("repair", "--truncate-at-corruption", dir)
    expect(again.stdout).toMatch(/^nothing to repair/)
    const opened = await Effect.runPromise(
      Effect.scoped(Effect.map(Wal.make({ directory: dir, schema: F.Event }), (wal) => wal.recovery.lastSequence)).pipe(
        Effect.provide(NodeContext.layer)
      )
    )
    expect(opened).toBe(1)
  })

  it("a foreign file or a newer version is a one-line message and exit 1", async () => {
    const foreign = await cli("inspect", F.foreignFile(fresh()))
    expect(foreign.code).toBe(1)
    expect(foreign.stderr.trim().split("\n")).toHaveLength(1)
    expect(foreign.stderr).toMatch(/^effect-wal: .*00000000000000000001-00000000000000000001\.wal cannot be opened \(foreign-file\)/)
    const newer = await cli("stats", await F.newerVersion(fresh()))
    expect(newer.code).toBe(1)
    expect(newer.stderr).toMatch(/\(unsupported-version\): format version 2 is newer than 1/)
  })

  it("usage errors exit 2, I/O errors 4, and --help documents the exit codes", async () => {
    expect((await cli("frobnicate")).code).toBe(2)
    expect((await cli("dump", "--from", "x", fresh())).code).toBe(2)
    const missing = await cli("stats", Path.join(fresh(), "missing"))
    expect(missing.code).toBe(4)
    expect(missing.stderr).toMatch(/^effect-wal: readDirectory failed on .*missing \(ENOENT\)/)
    const help = await cli("--help")
    expect(help.code).toBe(0)
    expect(help.stdout).toContain("Exit codes: 0 ok; 1 corruption or format problem found; 2 usage error; 3 locked by a live writer; 4 I/O error.")
  })
})

describe("effect-wal in process", () => {
  const out: Array<string> = []
  const err: Array<string> = []
  afterEach(() => {
    out.length = 0
    err.length = 0
    vi.restoreAllMocks()
  })
  const runWith = (clock: Clock.Clock | undefined, args: Array<string>) => {
    vi.spyOn(console, "log").mockImplementation((...values) => void out.push(values.join(" ")))
    vi.spyOn(console, "error").mockImplementation((...values) => void err.push(values.join(" ")))
    const program = run(["node", "effect-wal", ...args]).pipe(Effect.provide(NodeContext.layer))
    return Effect.runPromise(clock === undefined ? program : Effect.withClock(program, clock))
  }
  const runIn = (...args: Array<string>) => runWith(undefined, args)

  it("draws the verify progress on a terminal's stderr and clears it", async () => {
    const dir = await F.healthy(fresh())
    let now = 0
    // Every reading of this clock is 200 ms later: every progress report is drawn.
    const clock: Clock.Clock = {
      [Clock.ClockTypeId]: Clock.ClockTypeId,
      unsafeCurrentTimeMillis: () => now,
      currentTimeMillis: Effect.sync(() => (now += 200)),
      unsafeCurrentTimeNanos: () => BigInt(now) * 1_000_000n,
      currentTimeNanos: Effect.sync(() => BigInt(now) * 1_000_000n),
      sleep: () => Effect.void
    }
    const writes: Array<string> = []
    vi.spyOn(process.stderr, "write").mockImplementation((chunk) => writes.push(String(chunk)) > 0)
    const tty = process.stderr.isTTY
    process.stderr.isTTY = true
    try {
      expect(await runWith(clock, ["verify", dir])).toBe(ExitCode.ok)
    } finally {
      process.stderr.isTTY = tty
    }
    expect(writes.filter((w) => w.startsWith("\rverifying [")).length).toBeGreaterThan(1)
    expect(writes.at(-2)).toMatch(/100\.0% 3\.1 KiB \/ 3\.1 KiB/)
    expect(writes.at(-1)).toBe("\r\x1b[K")
  })

  it("runs every command and maps outcomes to exit codes", async () => {
    const dir = await F.healthy(fresh())
    NodeFs.writeFileSync(Path.join(dir, "LOCK"), JSON.stringify({ pid: process.ppid, hostname: "elsewhere", token: "t", acquiredAt: 0 }))
    expect(await runIn("inspect", dir)).toBe(ExitCode.ok)
    expect(out.join("\n")).toMatch(/lock\s+pid \d+ on elsewhere since 1970-01-01T00:00:00.000Z \(unknown\)/)
    expect(await runIn("verify", "--json", dir)).toBe(ExitCode.ok)
    expect(JSON.parse(out.at(-1)!)).toMatchObject({ problems: [], codecId: "json" })
    expect(await runIn("stats", dir)).toBe(ExitCode.ok)
    expect(out.at(-1)).toMatch(/entries\s+44 \(43 data, 1 checkpoint\)[\s\S]*payload sizes\n {2}<= 32 B/)
    expect(await runIn("stats", "--json", dir)).toBe(ExitCode.ok)
    expect(JSON.parse(out.at(-1)!)).toMatchObject({ entries: 44 })
    expect(await runIn("dump", dir, "--to", "2")).toBe(ExitCode.ok)
    expect(out.at(-1)!.split("\n")).toHaveLength(2)
    expect(await runIn("dump", await customCodec(fresh()))).toBe(ExitCode.ok)
    expect(err).toEqual(['effect-wal: codec "rot13" is unknown to this build: payloads are printed as base64'])
    expect(await runIn("repair", "--truncate-at-corruption", dir)).toBe(ExitCode.locked)
    expect(err.at(-1)).toBe(`effect-wal: the WAL in ${dir} is locked by pid ${process.ppid} on elsewhere`)
    NodeFs.writeFileSync(Path.join(dir, "LOCK"), "torn")
    expect(await runIn("inspect", dir)).toBe(ExitCode.ok)
    expect(out.at(-1)).toMatch(/lock\s+unreadable lock file \(stale\)/)
    expect(await runIn("repair", "--truncate-at-corruption", "--json", dir)).toBe(ExitCode.ok)
    expect(JSON.parse(out.at(-1)!)).toMatchObject({ repaired: false, lockTakenOver: "an unreadable lock file" })
    const empty = fresh()
    await Effect.runPromise(Effect.scoped(Wal.make({ directory: empty })).pipe(Effect.provide(NodeContext.layer)))
    expect(await runIn("stats", empty)).toBe(ExitCode.ok)
    expect(out.at(-1)).toMatch(/sequences\s+none\n[\s\S]*first timestamp\s+-\n/)
    expect(await runIn("inspect", empty)).toBe(ExitCode.ok)
    expect(out.at(-1)).toMatch(/active\s+none\s+0\s+128\n[\s\S]*lock\s+none$/)
    expect(await runIn("inspect", await F.tornTail(fresh()))).toBe(ExitCode.ok)
    expect(out.at(-1)).toMatch(/torn tail: .* \(148 bytes, 2 entries of an unfinished batch\)/)
  })

  it("reports problems, refusals and failures", async () => {
    const dir = await F.corruptMiddle(fresh())
    expect(await runIn("verify", "--all", dir)).toBe(ExitCode.problem)
    expect(out.at(-1)).toMatch(/^corruption: .*\nFAILED: 1 problem \(/)
    expect(await runIn("dump", dir)).toBe(ExitCode.problem)
    expect(err.at(-1)).toMatch(/^effect-wal: WAL corruption in .* at offset \d+: checksum mismatch/)
    expect(await runIn("repair", dir)).toBe(ExitCode.usage)
    expect(await runIn("repair", "--truncate-at-corruption", dir)).toBe(ExitCode.ok)
    expect(out.at(-1)).toMatch(/saved \d+ bytes that are cut to .*repair-[\dT-]+Z\ntruncated .* at offset \d+ \(\d+ bytes cut\)\nremoved /)
    expect(await runIn("inspect", F.foreignFile(fresh()))).toBe(ExitCode.problem)
    expect(await runIn("inspect", Path.join(fresh(), "missing"))).toBe(ExitCode.io)
    expect(await runIn("dump", "--from", "1", "--to", "x", dir)).toBe(ExitCode.usage)
    expect(await runIn("nothing")).toBe(ExitCode.usage)
    const torn = await F.tornTail(fresh())
    expect(await runIn("repair", "--truncate-at-corruption", torn)).toBe(ExitCode.ok)
    expect(out.at(-1)).toMatch(/^nothing to repair[\s\S]*\ntorn tail: /)
  })

  it("dump decodes MessagePack values JSON cannot hold, and falls back to base64 once per codec", async () => {
    const dir = fresh()
    await Effect.runPromise(
      Effect.scoped(Effect.gen(function*() {
        const wal = yield* Wal.make({ directory: dir })
        yield* wal.append(Codec.msgpack.encode({ bytes: Uint8Array.of(1, 2), big: 2n ** 60n, at: new Date(0) }))
        yield* wal.append(Uint8Array.of(0xd9))
        yield* wal.append(Uint8Array.of(0x92))
      })).pipe(Effect.provide(NodeContext.layer))
    )
    // Relabel the segment as MessagePack: the payloads are MessagePack bytes, the last two invalid.
    const [segment] = F.segmentPaths(dir)
    const bytes = NodeFs.readFileSync(segment!)
    bytes.set(encodeHeader({ ...Either.getOrThrow(decodeHeader(bytes)), codecId: "msgpack" }), 0)
    NodeFs.writeFileSync(segment!, bytes)
    expect(await runIn("dump", dir)).toBe(ExitCode.ok)
    const lines = out.at(-1)!.split("\n").map((l) => JSON.parse(l))
    expect(lines[0].payload).toEqual({ bytes: "AQI=", big: "1152921504606846976", at: "1970-01-01T00:00:00.000Z" })
    expect(lines.slice(1).map((l) => l.payload)).toEqual(["2Q==", "kg=="])
    expect(err).toEqual([
      'effect-wal: entry 2 could not be decoded with codec "msgpack" (Unexpected end of buffer reading string): such payloads are printed as base64'
    ])
  })
})

describe("rendering", () => {
  it("finds codecs by id, composed with transforms", () => {
    expect(Option.map(Render.codecFor("json"), (c) => c.id)).toEqual(Option.some("json"))
    expect(Option.map(Render.codecFor("msgpack+gzip"), (c) => c.id)).toEqual(Option.some("msgpack+gzip"))
    expect(Render.codecFor("json+zstd")).toEqual(Option.none())
    expect(Render.codecFor("constructor")).toEqual(Option.none())
  })

  it("renders values JSON cannot hold", () => {
    expect(Render.toJsonValue({
      a: undefined,
      n: Number.NaN,
      i: Number.POSITIVE_INFINITY,
      d: new Date(Number.NaN),
      m: new Map([[1, "x"]]),
      s: new Set([1n]),
      o: Option.some(1),
      f: [null, true, "x"]
    })).toEqual({ a: null, n: "NaN", i: "Infinity", d: "Invalid Date", m: [[1, "x"]], s: ["1"], o: 1, f: [null, true, "x"] })
  })

  it("formats sizes and the progress line", () => {
    expect(Render.formatBytes(980)).toBe("980 B")
    expect(Render.formatBytes(3 * 1024 * 1024)).toBe("3.0 MiB")
    expect(Render.progressLine(512, 1024, 1000)).toBe(`verifying [${"#".repeat(15)}${"-".repeat(15)}]  50.0% 512 B / 1.0 KiB  512 B/s`)
    expect(Render.progressLine(0, 0, 0)).toMatch(/100\.0% 0 B \/ 0 B {2}0 B\/s$/)
  })
})

/** The `Control` service of a volume: crashes, halting, fault plans and inspection. */
import { Effect, Option } from "effect"
import * as Path from "node:path"
import type * as MemoryFileSystem from "../../MemoryFileSystem.js"
import { crash } from "./crash.js"
import { fail } from "./errno.js"
import * as Faults from "./faults.js"
import * as Random from "./random.js"
import { attempt } from "./run.js"
import type { FileNode, Tree, Volume } from "./volume.js"

const positiveInteger = (value: number, name: string): Effect.Effect<void> =>
  Number.isInteger(value) && value >= 1 ? Effect.void : Effect.dieMessage(`${name} must be a positive integer, got ${value}`)

/** The `Control` service of `volume`. */
export const make = (volume: Volume): MemoryFileSystem.ControlService => {
  const matcher = (paths: MemoryFileSystem.PathFilter | undefined): {
    readonly matches: Faults.PathMatcher
    readonly label: string | undefined
  } => {
    if (paths === undefined) return { matches: () => true, label: undefined }
    if (typeof paths === "function") return { matches: paths, label: "paths matching a predicate" }
    const prefix = paths.startsWith("/") ? paths : Path.posix.join(volume.cwd, paths)
    return { matches: (path) => path.startsWith(prefix), label: `paths starting with ${prefix}` }
  }

  const arm = (fault: Faults.Fault): Effect.Effect<string> =>
    Effect.sync(() => {
      volume.faults.push(fault)
      return fault.description
    })

  const entries = (tree: Tree, bytesOf: (file: FileNode) => Uint8Array): Array<MemoryFileSystem.SnapshotEntry> => {
    const result: Array<MemoryFileSystem.SnapshotEntry> = []
    volume.walk(tree, (path, node) => {
      if (node === volume.root) return
      result.push(node._tag === "File" ? { _tag: "File", path, bytes: bytesOf(node) } : { _tag: "Directory", path })
    })
    return result
  }

  const fileAt = (tree: Tree, path: string): Option.Option<FileNode> => {
    const id = volume.lookup(tree, volume.resolve(path))
    const node = id === undefined ? undefined : volume.nodes.get(id)
    return node?._tag === "File" ? Option.some(node) : Option.none()
  }

  return {
    crash: (options) =>
      Effect.zipRight(
        positiveInteger(options.sectorSize ?? 512, "sectorSize"),
        Effect.sync(() => {
          const plan = {
            seed: options.seed,
            model: options.model ?? "any",
            sectorSize: options.sectorSize ?? 512,
            tornFill: options.tornFill ?? "mixed"
          } as const
          const outcome = crash(volume, plan)
          const revived = outcome.revived > 0 ? `, ${outcome.revived} removed file(s) revived` : ""
          return {
            ...plan,
            ...outcome,
            description: `crash with seed ${plan.seed} (model ${plan.model}, sector size ${plan.sectorSize}, ` +
              `torn fill ${plan.tornFill}): kept ${outcome.kept} of ${outcome.pending} pending operations, ` +
              `${outcome.torn} torn${revived}`
          }
        })
      ),
    haltAfter: (operations) =>
      Number.isInteger(operations) && operations >= 0
        ? Effect.sync(() => {
          if (operations === 0) {
            volume.halted = true
          } else {
            volume.haltAt = volume.operations + operations
          }
        })
        : Effect.dieMessage(`haltAfter needs a non-negative integer, got ${operations}`),
    resume: Effect.sync(() => {
      volume.halted = false
      volume.haltAt = undefined
    }),
    operationCount: Effect.sync(() => volume.operations),
    failSync: (options) => {
      const persistent = options.persistent ?? false
      const { label, matches } = matcher(options.paths)
      return Effect.zipRight(
        positiveInteger(options.nth, "nth"),
        arm({
          _tag: "SyncFailure",
          description: Faults.describeSyncFailure(options.nth, persistent, label),
          triggered: 0,
          nth: options.nth,
          persistent,
          matches,
          seen: 0
        })
      )
    },
    failWrite: (options) => {
      const { label, matches } = matcher(options.paths)
      return Effect.zipRight(
        positiveInteger(options.nth, "nth"),
        arm({
          _tag: "WriteFailure",
          description: Faults.describeWriteFailure(options.nth, options.code, options.shortWrite, label),
          triggered: 0,
          nth: options.nth,
          code: options.code,
          shortWrite: options.shortWrite,
          matches,
          seen: 0,
          failNextOn: undefined
        })
      )
    },
    misdirectWrite: (options) => {
      const { label, matches } = matcher(options.paths)
      return Effect.zipRight(
        positiveInteger(options.nth, "nth"),
        arm({
          _tag: "MisdirectedWrite",
          description: Faults.describeMisdirectedWrite(options.nth, options.seed, label),
          triggered: 0,
          nth: options.nth,
          seed: options.seed,
          matches,
          seen: 0
        })
      )
    },
    flipBit: (options) =>
      attempt("flipBit", options.path, () => {
        const { node } = volume.locate(options.path, "open")
        if (node === undefined) fail("ENOENT", "open", options.path)
        if (node._tag === "Directory") fail("EISDIR", "read", options.path)
        const length = node.durable.length
        let offset: number
        let bit: number
        if ("seed" in options) {
          if (length === 0) fail("EINVAL", "flipBit", options.path)
          const random = Random.make(options.seed)
          offset = random.int(length)
          bit = random.int(8)
        } else {
          offset = options.offset
          bit = options.bit
          const valid = Number.isInteger(offset) && offset >= 0 && offset < length && Number.isInteger(bit) &&
            bit >= 0 && bit < 8
          if (!valid) fail("EINVAL", "flipBit", options.path)
        }
        node.durable.flipBit(offset, bit)
        const shadowed = node.pending.some((operation) =>
          operation._tag === "Write"
            ? operation.offset <= offset && offset < operation.offset + operation.bytes.length
            : operation.length <= offset
        )
        if (!shadowed && offset < node.live.length) node.live.flipBit(offset, bit)
        const seed = "seed" in options ? ` (drawn from seed ${options.seed})` : ""
        const description = `flip bit ${bit} of byte ${offset} of the durable data of ${
          volume.resolve(options.path)
        }${seed}`
        volume.faults.push({ _tag: "BitFlip", description, triggered: 1 })
        return description
      }),
    reviveRemoved: (options) => {
      const path = volume.resolve(options.path)
      return arm({
        _tag: "Revival",
        description: `bring back the file last removed from ${path} at the next crash`,
        triggered: 0,
        path,
        spent: false
      })
    },
    faults: Effect.sync(() =>
      volume.faults.map((fault) => ({ description: fault.description, triggered: fault.triggered }))
    ),
    clearFaults: Effect.sync(() => {
      volume.faults = []
    }),
    liveBytes: (path) => Effect.sync(() => Option.map(fileAt(volume.liveTree(), path), (file) => file.live.toUint8Array())),
    durableBytes: (path) =>
      Effect.sync(() => Option.map(fileAt(volume.durableTree(), path), (file) => file.durable.toUint8Array())),
    paths: Effect.sync(() => entries(volume.liveTree(), () => new Uint8Array(0)).map((entry) => entry.path)),
    snapshot: (view = "live") =>
      Effect.sync(() =>
        view === "live"
          ? entries(volume.liveTree(), (file) => file.live.toUint8Array())
          : entries(volume.durableTree(), (file) => file.durable.toUint8Array())
      )
  }
}

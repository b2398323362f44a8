/**
 * The crash model: picks, from a seed, one state the disk may hold after a power loss, and makes
 * it the new live and durable state.
 */
import type { Bytes } from "./bytes.js"
import * as Random from "./random.js"
import type { DataOperation, EntryOperation, FileNode, Node, Tree, Volume } from "./volume.js"

/** How the post-crash state is chosen. */
export interface CrashPlan {
  readonly seed: number
  readonly model: "any" | "prefix"
  readonly sectorSize: number
  readonly tornFill: "zero" | "garbage" | "mixed"
}

/** What a crash kept of the pending operations. */
export interface CrashOutcome {
  readonly pending: number
  readonly kept: number
  readonly torn: number
  readonly revived: number
}

type Pending =
  | { readonly _tag: "Entries"; readonly operation: EntryOperation }
  | { readonly _tag: "Data"; readonly operation: DataOperation; readonly file: FileNode }

/** Replaces the live state of `volume` by one post-crash state chosen by `plan.seed`. */
export const crash = (volume: Volume, plan: CrashPlan): CrashOutcome => {
  const random = Random.make(plan.seed)
  const pending = pendingOperations(volume)
  const images = new Map<number, Bytes>()
  const chosenEntries = new Set<EntryOperation>()
  const cut = plan.model === "prefix" ? random.int(pending.length + 1) : 0
  const keepProbability = random.next()
  let keptData = 0
  let torn = 0
  pending.forEach((item, index) => {
    const keep = plan.model === "prefix" ? index < cut : random.chance(keepProbability)
    if (!keep) return
    if (item._tag === "Entries") {
      chosenEntries.add(item.operation)
      return
    }
    keptData++
    let image = images.get(item.file.id)
    if (image === undefined) {
      image = item.file.durable.copy()
      images.set(item.file.id, image)
    }
    const operation = item.operation
    if (operation._tag === "Truncate") {
      image.setLength(operation.length)
    } else if (plan.model === "any" && random.chance(0.5)) {
      torn++
      tearWrite(image, operation, plan, random)
    } else {
      image.write(operation.offset, operation.bytes)
    }
  })
  let keptEntries = 0
  const tree = volume.replayEntries((operation, current) => {
    if (operation.durable) return true
    if (!chosenEntries.has(operation) || !preconditionHolds(operation, current)) return false
    keptEntries++
    return true
  })
  const revived = reviveRemoved(volume, tree)
  rebuild(volume, tree, images)
  return { pending: pending.length, kept: keptData + keptEntries, torn, revived }
}

/** Every operation not yet durable, in the order it happened. */
const pendingOperations = (volume: Volume): Array<Pending> => {
  const pending: Array<Pending> = []
  for (const operation of volume.entryLog) {
    if (!operation.durable) pending.push({ _tag: "Entries", operation })
  }
  for (const node of volume.nodes.values()) {
    if (node._tag === "File") {
      for (const operation of node.pending) pending.push({ _tag: "Data", operation, file: node })
    }
  }
  return pending.sort((a, b) => a.operation.seq - b.operation.seq)
}

/**
 * A kept entry operation applies only where it finds the entries it found when it ran, so the
 * surviving operations always form a history that could have happened.
 */
const preconditionHolds = (operation: EntryOperation, tree: Tree): boolean =>
  operation.changes.every((change) => tree.get(change.directory)?.get(change.name) === change.previous)

/**
 * Applies a write torn at sector boundaries: each sector-aligned piece is kept or lost; the file
 * grows either to the end of the write or only to the end of the last kept piece. Lost pieces
 * inside the old length keep the old bytes; lost pieces past it read as zeros or garbage.
 */
const tearWrite = (
  image: Bytes,
  write: Extract<DataOperation, { _tag: "Write" }>,
  plan: CrashPlan,
  random: Random.Random
): void => {
  const end = write.offset + write.bytes.length
  const previousLength = image.length
  const pieces: Array<{ readonly start: number; readonly stop: number; readonly kept: boolean }> = []
  for (let start = write.offset; start < end;) {
    const stop = Math.min(end, (Math.floor(start / plan.sectorSize) + 1) * plan.sectorSize)
    pieces.push({ start, stop, kept: random.chance(0.5) })
    start = stop
  }
  const lastKeptStop = pieces.reduce((last, piece) => piece.kept ? piece.stop : last, 0)
  const length = random.chance(0.5) ? end : Math.max(previousLength, lastKeptStop)
  if (length > image.length) image.setLength(length)
  for (const piece of pieces) {
    if (piece.kept) {
      image.write(piece.start, write.bytes.subarray(piece.start - write.offset, piece.stop - write.offset))
      continue
    }
    const from = Math.max(piece.start, previousLength)
    const to = Math.min(piece.stop, length)
    if (from < to && isGarbage(plan.tornFill, random)) image.write(from, random.bytes(to - from))
  }
}

const isGarbage = (fill: CrashPlan["tornFill"], random: Random.Random): boolean =>
  fill === "garbage" || (fill === "mixed" && random.chance(0.5))

/** Applies the armed revival plans: a removed file reappears where its name is free again. */
const reviveRemoved = (volume: Volume, tree: Tree): number => {
  let revived = 0
  for (const fault of volume.faults) {
    if (fault._tag !== "Revival" || fault.spent) continue
    fault.spent = true
    const node = volume.removed.get(fault.path)
    const slash = fault.path.lastIndexOf("/")
    const parent = volume.lookup(tree, fault.path.slice(0, slash))
    const name = fault.path.slice(slash + 1)
    const entries = parent === undefined ? undefined : tree.get(parent)
    if (node === undefined || parent === undefined || volume.nodes.get(parent)!._tag !== "Directory") continue
    if (entries?.has(name)) continue
    tree.set(parent, new Map(entries).set(name, node))
    fault.triggered++
    revived++
  }
  return revived
}

/** Makes `tree` and the crash images the whole state: everything durable, every handle dead. */
const rebuild = (volume: Volume, tree: Tree, images: ReadonlyMap<number, Bytes>): void => {
  const nodes = new Map<number, Node>()
  const baseline = new Map<number, Map<string, number>>()
  volume.walk(tree, (_, node) => {
    if (nodes.has(node.id)) {
      node.links++
      return
    }
    nodes.set(node.id, node)
    node.links = node.id === volume.root.id ? 0 : 1
    if (node._tag === "File") {
      node.live = images.get(node.id) ?? node.durable.copy()
      node.durable = node.live.copy()
      node.pending = []
    } else {
      const entries = new Map(tree.get(node.id))
      node.entries = entries
      baseline.set(node.id, new Map(entries))
    }
  })
  volume.nodes = nodes
  volume.baseline = baseline
  volume.entryLog = []
  volume.removed = new Map()
  volume.epoch++
  volume.halted = false
  volume.haltAt = undefined
}

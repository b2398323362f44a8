/**
 * The state of one in-memory filesystem: inodes, live and durable directory trees, the operations
 * not yet durable, and the counters the crash model and fault plans use. Every mutation goes
 * through the primitives below, which record what a crash may undo.
 */
import * as Path from "node:path"
import { Bytes } from "./bytes.js"
import { fail } from "./errno.js"
import type { Fault } from "./faults.js"
import * as Random from "./random.js"

/** A write or truncate of one file that no sync has made durable yet. */
export type DataOperation =
  | { readonly _tag: "Write"; readonly seq: number; readonly offset: number; readonly bytes: Uint8Array }
  | { readonly _tag: "Truncate"; readonly seq: number; readonly length: number }

/** One directory entry set (`node`) or removed (`undefined`); `previous` is what it replaced. */
export interface EntryChange {
  readonly directory: number
  readonly name: string
  readonly node: number | undefined
  readonly previous: number | undefined
}

/** An atomic change of directory entries (create, remove, rename, link), durable once a directory it touches is synced. */
export interface EntryOperation {
  readonly _tag: "Entries"
  readonly seq: number
  readonly changes: ReadonlyArray<EntryChange>
  durable: boolean
}

interface NodeTimes {
  mode: number
  links: number
  mtime: number
  atime: number
  readonly birthtime: number
}

/** A regular file: its live bytes, its durable bytes and the operations between them. */
export interface FileNode extends NodeTimes {
  readonly _tag: "File"
  readonly id: number
  live: Bytes
  durable: Bytes
  pending: Array<DataOperation>
}

/** A directory and its live entries. */
export interface DirectoryNode extends NodeTimes {
  readonly _tag: "Directory"
  readonly id: number
  entries: Map<string, number>
}

/** A file or directory. */
export type Node = FileNode | DirectoryNode

/** Directory entries by directory id: a view of the tree at some point of the crash model. */
export type Tree = Map<number, ReadonlyMap<string, number>>

/** Where a path leads: its parent directory, its last name and what that name holds now. */
export interface Location {
  readonly parent: DirectoryNode
  readonly name: string
  readonly node: Node | undefined
}

const emptyEntries: ReadonlyMap<string, number> = new Map()

/** Applies a durable data operation to a file image. */
export const applyData = (image: Bytes, operation: DataOperation): void => {
  if (operation._tag === "Write") {
    image.write(operation.offset, operation.bytes)
  } else {
    image.setLength(operation.length)
  }
}

/** The state of one filesystem. */
export class Volume {
  nodes = new Map<number, Node>()
  /** Durable directory entries, up to the first entry operation that is not durable. */
  baseline = new Map<number, Map<string, number>>()
  /** Entry operations after the baseline, in order; some may already be durable. */
  entryLog: Array<EntryOperation> = []
  /** The file last removed from each path, for `Control.reviveRemoved`. */
  removed = new Map<string, number>()
  faults: Array<Fault> = []
  /** Bumped by every crash; handles from an older epoch are dead. */
  epoch = 0
  /** Mutating operations so far. */
  operations = 0
  /** The operation count at which the filesystem halts. */
  haltAt: number | undefined = undefined
  halted = false
  /** The clock reading of the operation in progress. */
  now = 0
  /** Set by every primitive mutation, so the operation in progress is counted once. */
  touched = false
  /**
   * Whether open files offer synchronous access (see `syncAccess.ts`), so the WAL's writer serves
   * batches in one synchronous step and its readers fill a buffer with one call, as on
   * `NodeFastFileSystem`; without it both go through the files' Effects, as on `NodeFileSystem`.
   */
  syncAccess = true
  /** Draws the random parts of temporary names. */
  readonly names = Random.make(0x5eed)
  readonly root: DirectoryNode
  private nextNode = 0
  private nextSeq = 0
  private nextDescriptor = 3

  constructor(readonly cwd: string, directories: ReadonlyArray<string>, now: number) {
    this.now = now
    this.root = this.newDirectory(0o755)
    this.baseline.set(this.root.id, new Map())
    for (const directory of directories) this.makeDirectories(directory)
    this.makeEverythingDurable()
  }

  /** `path` as an absolute posix path, relative paths resolved against the working directory. */
  resolve(path: string): string {
    return Path.posix.resolve(this.cwd, path)
  }

  /**
   * Walks `path` through the live tree; fails like `syscall` (naming `reported` and `dest`) when a
   * parent is missing or not a directory.
   */
  locate(path: string, syscall: string, reported = path, dest?: string): Location {
    if (path === "") fail("ENOENT", syscall, reported, dest)
    const names = this.resolve(path).split("/").filter((name) => name.length > 0)
    if (names.length === 0) return { parent: this.root, name: "", node: this.root }
    let directory = this.root
    for (const name of names.slice(0, -1)) {
      const child = this.child(directory, name)
      if (child === undefined) fail("ENOENT", syscall, reported, dest)
      if (child._tag === "File") fail("ENOTDIR", syscall, reported, dest)
      directory = child
    }
    const name = names[names.length - 1]
    return { parent: directory, name, node: this.child(directory, name) }
  }

  /** The node named `name` in `directory`. */
  child(directory: DirectoryNode, name: string): Node | undefined {
    const id = directory.entries.get(name)
    return id === undefined ? undefined : this.nodes.get(id)
  }

  /** Creates every missing directory of an absolute path, stopping with a failure at a file. */
  makeDirectories(path: string, mode = 0o777, syscall = "mkdir", reported = path): void {
    let directory = this.root
    const names = this.resolve(path).split("/").filter((name) => name.length > 0)
    const missing = names.findIndex((name, index) => {
      const child = this.child(directory, name)
      if (child === undefined) return true
      if (child._tag === "File") fail(index === names.length - 1 ? "EEXIST" : "ENOTDIR", syscall, reported)
      directory = child
      return false
    })
    if (missing === -1) return
    for (const name of names.slice(missing)) directory = this.createDirectory(directory, name, mode)
  }

  /** A new descriptor number. */
  allocateDescriptor(): number {
    return this.nextDescriptor++
  }

  /** Creates an empty file named `name` in `parent`. */
  createFile(parent: DirectoryNode, name: string, mode: number): FileNode {
    const node: FileNode = {
      _tag: "File",
      id: this.nextNode++,
      live: new Bytes(),
      durable: new Bytes(),
      pending: [],
      ...this.times(mode)
    }
    this.nodes.set(node.id, node)
    this.changeEntries([{ directory: parent, name, node }])
    return node
  }

  /** Creates an empty directory named `name` in `parent`. */
  createDirectory(parent: DirectoryNode, name: string, mode: number): DirectoryNode {
    const node = this.newDirectory(mode)
    this.changeEntries([{ directory: parent, name, node }])
    return node
  }

  /** Sets or removes directory entries as one atomic, not yet durable, operation. */
  changeEntries(
    changes: ReadonlyArray<{ readonly directory: DirectoryNode; readonly name: string; readonly node: Node | undefined }>
  ): void {
    const recorded = changes.map(({ directory, name, node }): EntryChange => {
      const previous = directory.entries.get(name)
      if (previous !== undefined) this.nodes.get(previous)!.links--
      if (node === undefined) {
        directory.entries.delete(name)
      } else {
        directory.entries.set(name, node.id)
        node.links++
      }
      directory.mtime = this.now
      return { directory: directory.id, name, node: node?.id, previous }
    })
    this.entryLog.push({ _tag: "Entries", seq: this.nextSeq++, changes: recorded, durable: false })
    this.touched = true
  }

  /** Writes `bytes` at `offset` of a file (zero-filling a gap past its end). */
  writeData(file: FileNode, offset: number, bytes: Uint8Array): void {
    if (bytes.length === 0) return
    file.live.write(offset, bytes)
    file.pending.push({ _tag: "Write", seq: this.nextSeq++, offset, bytes: bytes.slice() })
    file.mtime = this.now
    this.touched = true
  }

  /** Shrinks or grows a file to `length` bytes. */
  truncateData(file: FileNode, length: number): void {
    file.live.setLength(length)
    file.pending.push({ _tag: "Truncate", seq: this.nextSeq++, length })
    file.mtime = this.now
    this.touched = true
  }

  /** fsync of a file: its pending data operations become durable. */
  syncFile(file: FileNode): void {
    for (const operation of file.pending) applyData(file.durable, operation)
    file.pending = []
    this.touched = true
  }

  /** fsync of a directory: every entry operation touching it becomes durable. */
  syncDirectory(directory: DirectoryNode): void {
    for (const operation of this.entryLog) {
      if (operation.changes.some((change) => change.directory === directory.id)) operation.durable = true
    }
    this.foldDurableEntries()
    this.touched = true
  }

  /** Counts the operation in progress if it mutated anything, halting when the budget is spent. */
  countOperation(): void {
    if (!this.touched) return
    this.operations++
    if (this.haltAt !== undefined && this.operations >= this.haltAt) this.halted = true
  }

  /** The directory tree after applying to the baseline the logged entry operations `keep` selects, in order. */
  replayEntries(keep: (operation: EntryOperation, tree: Tree) => boolean): Tree {
    const tree: Tree = new Map(this.baseline)
    const copied = new Map<number, Map<string, number>>()
    for (const operation of this.entryLog) {
      if (!keep(operation, tree)) continue
      for (const change of operation.changes) {
        let entries = copied.get(change.directory)
        if (entries === undefined) {
          entries = new Map(tree.get(change.directory) ?? emptyEntries)
          copied.set(change.directory, entries)
          tree.set(change.directory, entries)
        }
        if (change.node === undefined) {
          entries.delete(change.name)
        } else {
          entries.set(change.name, change.node)
        }
      }
    }
    return tree
  }

  /** The durable directory tree. */
  durableTree(): Tree {
    return this.replayEntries((operation) => operation.durable)
  }

  /** The live directory tree. */
  liveTree(): Tree {
    const tree: Tree = new Map()
    for (const node of this.nodes.values()) {
      if (node._tag === "Directory") tree.set(node.id, node.entries)
    }
    return tree
  }

  /** The id of the node at an absolute path of `tree`. */
  lookup(tree: Tree, path: string): number | undefined {
    let id: number | undefined = this.root.id
    for (const name of path.split("/")) {
      if (name.length === 0) continue
      const entries = tree.get(id)
      id = entries?.get(name)
      if (id === undefined) return undefined
    }
    return id
  }

  /** Visits every node reachable from the root of `tree`, parents first, names in sorted order. */
  walk(tree: Tree, visit: (path: string, node: Node) => void): void {
    const seen = new Set<number>()
    const descend = (path: string, id: number): void => {
      const node = this.nodes.get(id)!
      visit(path, node)
      if (node._tag === "File" || seen.has(id)) return
      seen.add(id)
      const entries = tree.get(id) ?? emptyEntries
      for (const name of [...entries.keys()].sort()) {
        descend(path === "/" ? `/${name}` : `${path}/${name}`, entries.get(name)!)
      }
    }
    descend("/", this.root.id)
  }

  /** Makes every pending operation durable. */
  makeEverythingDurable(): void {
    for (const node of this.nodes.values()) {
      if (node._tag === "File") this.syncFile(node)
    }
    for (const operation of this.entryLog) operation.durable = true
    this.foldDurableEntries()
    this.touched = false
  }

  /** Moves the durable head of the entry log into the baseline. */
  private foldDurableEntries(): void {
    let folded = 0
    for (const operation of this.entryLog) {
      if (!operation.durable) break
      for (const change of operation.changes) {
        let entries = this.baseline.get(change.directory)
        if (entries === undefined) {
          entries = new Map()
          this.baseline.set(change.directory, entries)
        }
        if (change.node === undefined) {
          entries.delete(change.name)
        } else {
          entries.set(change.name, change.node)
        }
      }
      folded++
    }
    if (folded > 0) this.entryLog.splice(0, folded)
  }

  private newDirectory(mode: number): DirectoryNode {
    const node: DirectoryNode = { _tag: "Directory", id: this.nextNode++, entries: new Map(), ...this.times(mode) }
    this.nodes.set(node.id, node)
    return node
  }

  private times(mode: number): NodeTimes {
    return { mode: mode & ~0o022 & 0o7777, links: 0, mtime: this.now, atime: this.now, birthtime: this.now }
  }
}

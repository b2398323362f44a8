/**
 * An in-memory `FileSystem` for tests, with a deterministic crash model and fault injection.
 *
 * It mirrors the observable behaviour of `NodeFileSystem` (open flags, positions, append mode,
 * error reasons) and keeps, for every file, its durable image and the writes and truncates no
 * `sync` has made durable yet; directory entries (create, remove, rename, link, mkdir) stay pending
 * until a `sync` on a handle of a directory they touch. `Control.crash` then replaces the live
 * state by one state a real disk may hold after a power loss, chosen by a seed.
 *
 * Every failure is a `SystemError` whose `reason` is the one Node's implementation gives and whose
 * `cause` is an {@link ErrnoException} carrying the errno `code` (`"ENOENT"`, `"EIO"`, ...).
 * Symbolic links and `watch` are not supported (they fail with `ENOTSUP`); permissions are
 * recorded by `chmod` but not enforced; `chmod` and `utimes` are not part of the crash model.
 * Scoped temporary files and directories are removed when their scope closes, ignoring failures
 * (a crash may already have made them vanish). Removed files keep their bytes in memory until the
 * next crash, so that a crash can bring them back.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import type { PlatformError } from "@effect/platform/Error"
import * as Path from "@effect/platform/Path"
import { Clock, Context, Effect, Layer, type Option } from "effect"
import * as internalControl from "./internal/memoryFileSystem/control.js"
import * as internalFileSystem from "./internal/memoryFileSystem/fileSystem.js"
import { Volume } from "./internal/memoryFileSystem/volume.js"

/**
 * The errno codes carried by the filesystem's errors. `ECRASHED` is reported by every operation
 * while the filesystem is halted (see {@link ControlService.haltAfter}).
 *
 * @since 0.1.0
 * @category models
 */
export type { ErrnoCode, ErrnoException } from "./internal/memoryFileSystem/errno.js"

/**
 * How `crash` picks the post-crash state.
 *
 * - `seed`: a 32-bit integer; the same seed on the same state always gives the same result.
 * - `model`: `"any"` (default) keeps any subset of the pending operations, tearing writes;
 *   `"prefix"` keeps every pending operation, whole, up to one cut point.
 * - `sectorSize`: the unit a torn write is split into (default 512 bytes).
 * - `tornFill`: what the lost sectors of a torn write read as where they extend the file:
 *   zeros, random garbage, or either per sector (`"mixed"`, the default).
 *
 * @since 0.1.0
 * @category models
 */
export interface CrashOptions {
  readonly seed: number
  readonly model?: "any" | "prefix"
  readonly sectorSize?: number
  readonly tornFill?: "zero" | "garbage" | "mixed"
}

/**
 * What a crash did: how many operations were pending, how many survived (`kept`, torn ones
 * included), how many writes were torn and how many removed files came back; `description`
 * names the seed and the options, for a failing test to print.
 *
 * @since 0.1.0
 * @category models
 */
export interface CrashReport {
  readonly seed: number
  readonly model: "any" | "prefix"
  readonly sectorSize: number
  readonly tornFill: "zero" | "garbage" | "mixed"
  readonly pending: number
  readonly kept: number
  readonly torn: number
  readonly revived: number
  readonly description: string
}

/**
 * Restricts a fault to some files: a path prefix (resolved against the working directory) or a
 * predicate on the absolute path the file was opened with.
 *
 * @since 0.1.0
 * @category models
 */
export type PathFilter = string | ((path: string) => boolean)

/**
 * Fails the `nth` sync (1-based, counted from when the plan is armed, among syncs of matching
 * paths) with EIO, or with `persistent` every sync from the `nth` on. A failed sync makes nothing
 * durable.
 *
 * @since 0.1.0
 * @category models
 */
export interface SyncFailureOptions {
  readonly nth: number
  readonly persistent?: boolean
  readonly paths?: PathFilter
}

/**
 * Fails the `nth` write (1-based, counted from when the plan is armed, among writes to matching
 * paths; every `write` call and every `writeAll` / `writeFile` chunk is one write) with `code`.
 * With `shortWrite`, that write first stores a prefix of its bytes (`bytes` of them, or a length
 * drawn from `seed`; always at least one and fewer than all) and reports the short count; the next
 * write through the same handle then fails with `code`, so `writeAll` fails after a partial write.
 *
 * @since 0.1.0
 * @category models
 */
export interface WriteFailureOptions {
  readonly nth: number
  readonly code: "EIO" | "ENOSPC"
  readonly shortWrite?: { readonly bytes: number } | { readonly seed: number }
  readonly paths?: PathFilter
}

/**
 * Makes the `nth` write (counted like {@link WriteFailureOptions}) land at another offset of the
 * same file, drawn from `seed` in `[0, max(file length, intended offset)]`; it reports success.
 *
 * @since 0.1.0
 * @category models
 */
export interface MisdirectedWriteOptions {
  readonly nth: number
  readonly seed: number
  readonly paths?: PathFilter
}

/**
 * Which bit of a file's durable data to flip: drawn from `seed`, or given as a byte `offset` and a
 * `bit` (0 = least significant).
 *
 * @since 0.1.0
 * @category models
 */
export type BitFlipOptions =
  | { readonly path: string; readonly seed: number }
  | { readonly path: string; readonly offset: number; readonly bit: number }

/**
 * An armed (or applied) fault plan and how many times it fired.
 *
 * @since 0.1.0
 * @category models
 */
export interface FaultReport {
  readonly description: string
  readonly triggered: number
}

/**
 * One file or directory of a snapshot, by absolute path.
 *
 * @since 0.1.0
 * @category models
 */
export type SnapshotEntry =
  | { readonly _tag: "File"; readonly path: string; readonly bytes: Uint8Array }
  | { readonly _tag: "Directory"; readonly path: string }

/**
 * The controller of one in-memory filesystem. Its operations never fail because of a halt and
 * never count as filesystem operations.
 *
 * @since 0.1.0
 * @category models
 */
export interface ControlService {
  /**
   * Replaces the live state by one post-crash state chosen by `options.seed`, starting from the
   * durable state:
   *
   * - `"any"`: each pending operation is kept or lost (with one keep probability drawn from the
   *   seed for the whole crash), kept ones applied in their original order. A kept write may be
   *   torn at sector boundaries: each sector-aligned piece is kept or lost, lost pieces inside the
   *   old length keep the old bytes, and the file grows either to the end of the write (lost
   *   pieces past the old end read as zeros or garbage, see `tornFill`) or only to the end of its
   *   last kept piece. A pending truncate may or may not have happened. A pending directory change
   *   may be lost: a created file vanishes, a removed file comes back with its durable content, a
   *   rename reverts; a kept directory change applies only where it finds the entries it found
   *   when it ran, so the names always tell a history that could have happened.
   * - `"prefix"`: one cut point is drawn over all pending operations in order; those before it are
   *   kept whole, the rest lost.
   *
   * Afterwards everything is durable, every handle opened before is dead (its operations fail
   * with `BadResource`, code `EBADF`), a halt is lifted and `reviveRemoved` plans are spent; the
   * other fault plans stay armed. Dies if `sectorSize` is not a positive integer.
   */
  readonly crash: (options: CrashOptions) => Effect.Effect<CrashReport>
  /**
   * Halts the filesystem once `operations` more mutating operations have succeeded (`0`: now).
   * Mutating operations are: each write or `writeAll` / `writeFile` chunk, truncate (also by
   * opening with `w`), sync, an open that creates a file, mkdir, rename, link, remove, copy.
   * While halted, every filesystem and handle operation fails with `Unknown`, code `ECRASHED`,
   * until `crash` or `resume`. Dies unless `operations` is a non-negative integer.
   */
  readonly haltAfter: (operations: number) => Effect.Effect<void>
  /**
   * Ends a halt and keeps everything: the live state stays as the halted process left it, and
   * what was not synced stays pending (a later `crash` may still lose it). This is a process
   * crash: what reached the operating system survives the process.
   */
  readonly resume: Effect.Effect<void>
  /** The mutating operations that have succeeded since the filesystem was made. */
  readonly operationCount: Effect.Effect<number>
  /** Arms a sync failure; returns its description. Dies unless `nth` is a positive integer. */
  readonly failSync: (options: SyncFailureOptions) => Effect.Effect<string>
  /** Arms a write failure; returns its description. Dies unless `nth` is a positive integer. */
  readonly failWrite: (options: WriteFailureOptions) => Effect.Effect<string>
  /** Arms a misdirected write; returns its description. Dies unless `nth` is a positive integer. */
  readonly misdirectWrite: (options: MisdirectedWriteOptions) => Effect.Effect<string>
  /**
   * Flips one bit of the durable data of the file at `path`, now. The live bytes see the flip too
   * unless a pending write or truncate covers that byte. Returns the description (offset, bit and
   * seed). Fails with `NotFound` for a missing file, `BadResource` for a directory, and `Unknown`
   * / `EINVAL` when the file has no durable data or the offset or bit is out of range.
   */
  readonly flipBit: (options: BitFlipOptions) => Effect.Effect<string, PlatformError>
  /**
   * At the next crash, the file last removed from `path` comes back with its post-crash content,
   * even if its removal was durable, provided its directory survives and the name is free.
   */
  readonly reviveRemoved: (options: { readonly path: string }) => Effect.Effect<string>
  /** Every fault plan armed or applied since the last `clearFaults`, in order. */
  readonly faults: Effect.Effect<ReadonlyArray<FaultReport>>
  /** Disarms every fault plan. */
  readonly clearFaults: Effect.Effect<void>
  /** The live bytes of the file at `path`; none when there is no file there. */
  readonly liveBytes: (path: string) => Effect.Effect<Option.Option<Uint8Array>>
  /** The durable bytes of the file at the durable `path`; none when no file is durably there. */
  readonly durableBytes: (path: string) => Effect.Effect<Option.Option<Uint8Array>>
  /** Every live path but the root, parents first, names sorted. */
  readonly paths: Effect.Effect<ReadonlyArray<string>>
  /** Every file and directory of the live (default) or durable tree, parents first, names sorted. */
  readonly snapshot: (view?: "live" | "durable") => Effect.Effect<ReadonlyArray<SnapshotEntry>>
}

/**
 * The controller of the in-memory filesystem provided alongside it.
 *
 * @since 0.1.0
 * @category context
 */
export class Control extends Context.Tag("effect-wal/MemoryFileSystem/Control")<Control, ControlService>() {}

/**
 * Options of a new filesystem: `cwd` (default `"/"`) resolves relative paths; it exists from the
 * start, as does `/tmp`, where temporary files go by default. `syncAccess` (default `true`) lets
 * the WAL call an open file's operations synchronously, as it does on `NodeFastFileSystem`: the
 * writer serves a batch in one step and a reader fills its buffer with one call; `false` makes
 * both go through the files' Effects, as they do on `NodeFileSystem`. Both paths have the same
 * durability contract; a test suite can run both.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly cwd?: string
  readonly syncAccess?: boolean
}

/**
 * A filesystem and its controller.
 *
 * @since 0.1.0
 * @category models
 */
export interface MemoryFileSystem {
  readonly fileSystem: FileSystem.FileSystem
  readonly control: ControlService
}

/**
 * Makes a new, independent, empty filesystem (only `/`, `/tmp` and `cwd`, all durable).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options?: Options): Effect.Effect<MemoryFileSystem> =>
  Effect.map(Clock.currentTimeMillis, (now) => {
    const cwd = options?.cwd ?? "/"
    const volume = new Volume(cwd, ["/tmp", cwd], now)
    volume.syncAccess = options?.syncAccess ?? true
    return { fileSystem: internalFileSystem.make(volume, "/tmp"), control: internalControl.make(volume) }
  })

/**
 * Provides a new filesystem and its controller, built with `options`, and the POSIX `Path` of
 * `@effect/platform` (the filesystem's paths are POSIX paths), so that a WAL runs on it with no
 * other layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWith = (options: Options): Layer.Layer<FileSystem.FileSystem | Control | Path.Path> =>
  Layer.merge(
    Layer.effectContext(
      Effect.map(make(options), ({ control, fileSystem }) =>
        Context.make(FileSystem.FileSystem, fileSystem).pipe(Context.add(Control, control)))
    ),
    Path.layer
  )

/**
 * Provides a new filesystem (working directory `/`), its controller and the POSIX `Path`; each
 * build is independent.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<FileSystem.FileSystem | Control | Path.Path> = layerWith({})

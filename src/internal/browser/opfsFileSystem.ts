/**
 * The `FileSystem` on the Origin Private File System. Paths are POSIX paths from the origin's
 * OPFS root (`/wal` and `wal` name the same directory). Directory operations are the OPFS
 * promise APIs; an open file is a `FileSystemSyncAccessHandle` (see `opfsFile.ts`). Failures are
 * the `SystemError`s the Node layer reports for the same condition (see `opfsErrors.ts`).
 */
import { type PlatformError, SystemError } from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import { Effect, Option, Stream } from "effect"
import { SyncAccessId } from "../syncAccess.js"
import type { DirectoryHandle, FileHandle } from "./dom.js"
import { accessOf, info, OpfsDirectory, OpfsFile } from "./opfsFile.js"
import { errno, ErrnoError, systemError } from "./opfsErrors.js"

type Handle = FileHandle | DirectoryHandle

/** The names from the root to `path`: `.` dropped, `..` applied, relative paths from the root. */
export const namesOf = (path: string): Array<string> => {
  const names: Array<string> = []
  for (const name of path.split("/")) {
    if (name === "" || name === ".") continue
    if (name === "..") names.pop()
    else names.push(name)
  }
  return names
}

/** The absolute path of a list of names. */
export const pathOf = (names: ReadonlyArray<string>): string => "/" + names.join("/")

/** A name no other temporary file or directory has, in practice. */
const randomName = (): string =>
  Array.from({ length: 2 }, () => Math.floor(Math.random() * 0x1_0000_0000).toString(16).padStart(8, "0")).join("")

/** Where temporary files and directories go when no directory is given. */
const TEMPORARY = "/tmp"

/** The entry `name` of `directory`, `undefined` when there is none. */
const lookup = async (directory: DirectoryHandle, name: string): Promise<Handle | undefined> => {
  try {
    return await directory.getFileHandle(name)
  } catch (error) {
    const kind = (error as { readonly name?: string }).name
    if (kind === "NotFoundError") return undefined
    if (kind !== "TypeMismatchError") throw error
  }
  return await directory.getDirectoryHandle(name)
}

/** An entry found by path: its parent (none for the root), its name and its handle, if it exists. */
interface Location {
  readonly names: ReadonlyArray<string>
  readonly parent: DirectoryHandle | undefined
  readonly name: string
  readonly handle: Handle | undefined
}

/** Builds the FileSystem on the OPFS directory `root`. */
export const make = (root: DirectoryHandle): FileSystem.FileSystem => {
  let nextFd = 3
  /** The files this FileSystem has open, which a rename of their file moves along. */
  const openFiles = new Set<OpfsFile>()

  /** Runs an OPFS call for `method` on `path`, mapping what it throws to a `SystemError`. */
  const run = <A>(
    method: string,
    path: string,
    operation: () => Promise<A>,
    mismatch?: "ENOTDIR" | "EISDIR"
  ): Effect.Effect<A, PlatformError> =>
    Effect.tryPromise({
      try: operation,
      catch: (error) => error instanceof SystemError ? error : systemError(method, path, error, mismatch)
    })

  /** The directory at `names`: `ENOENT` when a name is missing, `ENOTDIR` when one is a file. */
  const directoryAt = async (names: ReadonlyArray<string>): Promise<DirectoryHandle> => {
    let directory = root
    for (const name of names) {
      const next = await lookup(directory, name)
      if (next === undefined) throw new ErrnoError("ENOENT", `no such directory: ${pathOf(names)}`)
      if (next.kind !== "directory") throw new ErrnoError("ENOTDIR", `not a directory: ${pathOf(names)}`)
      directory = next
    }
    return directory
  }

  const locate = async (path: string): Promise<Location> => {
    const names = namesOf(path)
    if (names.length === 0) return { names, parent: undefined, name: "", handle: root }
    const parent = await directoryAt(names.slice(0, -1))
    const name = names[names.length - 1]!
    return { names, parent, name, handle: await lookup(parent, name) }
  }

  /** The existing entry at `path`, `ENOENT` when there is none. */
  const existing = async (path: string): Promise<Location & { readonly handle: Handle }> => {
    const location = await locate(path)
    if (location.handle === undefined) throw new ErrnoError("ENOENT", `no such file or directory: ${path}`)
    return location as Location & { readonly handle: Handle }
  }

  /** Opens `path` with Node's `open(2)` flag semantics; the caller closes what it gets. */
  const openNow = async (path: string, flag: FileSystem.OpenFlag): Promise<OpfsFile | OpfsDirectory> => {
    const location = await locate(path)
    const exclusive = flag.includes("x")
    if (location.handle !== undefined && exclusive) throw new ErrnoError("EEXIST", `file already exists: ${path}`)
    if (location.handle?.kind === "directory") {
      if (flag !== "r") throw new ErrnoError("EISDIR", `illegal operation on a directory: ${path}`)
      return new OpfsDirectory(FileSystem.FileDescriptor(nextFd++))
    }
    let file = location.handle
    if (file === undefined) {
      if (flag === "r" || flag === "r+") throw new ErrnoError("ENOENT", `no such file or directory: ${path}`)
      file = await location.parent!.getFileHandle(location.name, { create: true })
    }
    const handle = await file.createSyncAccessHandle({ mode: "readwrite-unsafe" })
    try {
      if (flag.startsWith("w")) handle.truncate(0)
    } catch (error) {
      handle.close()
      throw error
    }
    const opened = new OpfsFile(FileSystem.FileDescriptor(nextFd++), pathOf(location.names), handle, accessOf(flag))
    openFiles.add(opened)
    return opened
  }

  const close = (file: OpfsFile | OpfsDirectory): void => {
    if (file instanceof OpfsFile && openFiles.delete(file)) file.close()
  }

  /** Runs `use` on `path` opened with `flag`, closing it afterwards. */
  const withFile = async <A>(path: string, flag: FileSystem.OpenFlag, use: (file: OpfsFile) => A): Promise<A> => {
    const file = await openNow(path, flag)
    try {
      if (!(file instanceof OpfsFile)) throw new ErrnoError("EISDIR", `illegal operation on a directory: ${path}`)
      return use(file)
    } finally {
      close(file)
    }
  }

  const readAll = (path: string): Promise<Uint8Array> =>
    withFile(path, "r", (file) => file.readWhole())

  const writeAll = (path: string, data: Uint8Array, flag: FileSystem.OpenFlag): Promise<void> =>
    withFile(path, flag, (file) => {
      if (data.length > 0) file[SyncAccessId].writeAll(data)
    })

  const makeDirectoryNow = async (path: string, recursive: boolean): Promise<void> => {
    const names = namesOf(path)
    if (!recursive) {
      if (names.length === 0) throw new ErrnoError("EEXIST", `file already exists: ${path}`)
      const parent = await directoryAt(names.slice(0, -1))
      const name = names[names.length - 1]!
      if (await lookup(parent, name) !== undefined) throw new ErrnoError("EEXIST", `file already exists: ${path}`)
      await parent.getDirectoryHandle(name, { create: true })
      return
    }
    let directory = root
    for (const [index, name] of names.entries()) {
      const next = await lookup(directory, name)
      if (next === undefined) directory = await directory.getDirectoryHandle(name, { create: true })
      else if (next.kind === "directory") directory = next
      else if (index === names.length - 1) throw new ErrnoError("EEXIST", `file already exists: ${path}`)
      else throw new ErrnoError("ENOTDIR", `not a directory: ${path}`)
    }
  }

  const listNow = async (directory: DirectoryHandle, prefix: string, recursive: boolean): Promise<Array<string>> => {
    const names: Array<string> = []
    for await (const name of directory.keys()) {
      names.push(prefix + name)
      if (recursive) {
        const entry = await lookup(directory, name)
        if (entry?.kind === "directory") names.push(...await listNow(entry, `${prefix}${name}/`, true))
      }
    }
    return names
  }

  const copyNow = async (from: string, to: string, overwrite: boolean): Promise<void> => {
    const source = await existing(from)
    const target = await locate(to).catch(() => undefined)
    if (source.handle.kind === "file") {
      if (target?.handle?.kind === "directory") {
        throw new ErrnoError("ERR_FS_CP_NON_DIR_TO_DIR", `cannot overwrite directory ${to} with non-directory ${from}`)
      }
      if (target?.handle !== undefined && !overwrite) return
      await makeDirectoryNow(pathOf(namesOf(to).slice(0, -1)), true)
      await writeAll(to, await readAll(from), "w")
      return
    }
    if (target?.handle?.kind === "file") {
      throw new ErrnoError("ERR_FS_CP_DIR_TO_NON_DIR", `cannot overwrite non-directory ${to} with directory ${from}`)
    }
    const targetNames = namesOf(to)
    if (source.names.every((name, index) => targetNames[index] === name)) {
      throw new ErrnoError("ERR_FS_CP_EINVAL", `cannot copy ${from} to a subdirectory of self ${to}`)
    }
    await makeDirectoryNow(to, true)
    for (const name of await listNow(source.handle, "", false)) {
      await copyNow(`${pathOf(source.names)}/${name}`, `${pathOf(targetNames)}/${name}`, overwrite)
    }
  }

  /**
   * Moves a file, with the handles this FileSystem has open on it: they are closed (OPFS refuses
   * to move a file with an open handle), the file is moved, and each open file gets a new handle
   * on it, keeping its position. If the move fails, they get handles on the file where it was.
   */
  const moveFile = async (
    file: FileHandle,
    from: string,
    parent: DirectoryHandle,
    name: string,
    to: string
  ): Promise<void> => {
    const moving = [...openFiles].filter((open) => open.path === from)
    for (const open of moving) open.close()
    let at = from
    try {
      await file.move(parent, name)
      at = to
    } finally {
      for (const open of moving) open.reattach(at, await file.createSyncAccessHandle({ mode: "readwrite-unsafe" }))
    }
  }

  const renameNow = async (from: string, to: string): Promise<void> => {
    const source = await existing(from)
    const targetNames = namesOf(to)
    const parent = await directoryAt(targetNames.slice(0, -1))
    if (source.parent === undefined || targetNames.length === 0) throw new ErrnoError("EBUSY", "cannot rename the root")
    if (pathOf(source.names) === pathOf(targetNames)) return
    const name = targetNames[targetNames.length - 1]!
    const target = await lookup(parent, name)
    if (source.handle.kind === "file") {
      if (target?.kind === "directory") throw new ErrnoError("EISDIR", `illegal operation on a directory: ${to}`)
      await moveFile(source.handle, pathOf(source.names), parent, name, pathOf(targetNames))
      return
    }
    if (target?.kind === "file") throw new ErrnoError("ENOTDIR", `not a directory: ${to}`)
    if (source.names.every((n, index) => targetNames[index] === n)) {
      throw new ErrnoError("EINVAL", `cannot move ${from} into itself`)
    }
    if (target !== undefined && (await listNow(target, "", false)).length > 0) {
      throw new ErrnoError("ENOTEMPTY", `directory not empty: ${to}`)
    }
    // Chromium's directory handles have no move(): refuse before touching anything.
    if (typeof source.handle.move !== "function") throw new ErrnoError("ENOTSUP", `OPFS cannot move directories: ${from}`)
    if (target !== undefined) await parent.removeEntry(name)
    await source.handle.move(parent, name)
  }

  const statNow = async (path: string): Promise<FileSystem.File.Info> => {
    const { handle } = await existing(path)
    if (handle.kind === "directory") return info("Directory", 0, Option.none())
    const file = await handle.getFile()
    return info("File", file.size, Option.some(new Date(file.lastModified)))
  }

  const makeTempDirectoryNow = async (options: FileSystem.MakeTempDirectoryOptions | undefined): Promise<string> => {
    const directory = options?.directory ?? TEMPORARY
    if (options?.directory === undefined) await makeDirectoryNow(TEMPORARY, true)
    const path = `${pathOf(namesOf(directory))}/${options?.prefix ?? ""}${randomName()}`.replace("//", "/")
    await makeDirectoryNow(path, false)
    return path
  }

  const makeTempFileNow = async (options: FileSystem.MakeTempFileOptions | undefined): Promise<string> => {
    const directory = options?.directory ?? TEMPORARY
    if (options?.directory === undefined) await makeDirectoryNow(TEMPORARY, true)
    const path = `${pathOf(namesOf(directory))}/${options?.prefix ?? ""}${randomName()}${options?.suffix ?? ""}`
      .replace("//", "/")
    await writeAll(path, new Uint8Array(0), "wx")
    return path
  }

  const removeNow = async (path: string, options: FileSystem.RemoveOptions | undefined): Promise<void> => {
    const location = await locate(path).catch((error) => {
      if (options?.force === true && error instanceof ErrnoError && error.code === "ENOENT") return undefined
      throw error
    })
    if (location === undefined || location.handle === undefined) {
      if (options?.force === true) return
      throw new ErrnoError("ENOENT", `no such file or directory: ${path}`)
    }
    if (location.parent === undefined) throw new ErrnoError("EBUSY", "cannot remove the root")
    if (location.handle.kind === "directory" && options?.recursive !== true) {
      throw new ErrnoError("ERR_FS_EISDIR", `path is a directory: ${path}`)
    }
    await location.parent.removeEntry(location.name, { recursive: options?.recursive === true })
  }

  const unsupported = (method: string) => (path: string): Effect.Effect<never, PlatformError> =>
    Effect.fail(errno(method, path, "ENOTSUP", `OPFS has no ${method}`))

  const makeTempDirectory = (options?: FileSystem.MakeTempDirectoryOptions) =>
    run("makeTempDirectory", options?.directory ?? TEMPORARY, () => makeTempDirectoryNow(options))
  const makeTempFile = (options?: FileSystem.MakeTempFileOptions) =>
    run("makeTempFile", options?.directory ?? TEMPORARY, () => makeTempFileNow(options))

  return FileSystem.make({
    access: (path) => run("access", path, () => existing(path).then(() => undefined)),
    chmod: unsupported("chmod"),
    chown: unsupported("chown"),
    copy: (from, to, options) => run("copy", from, () => copyNow(from, to, options?.overwrite === true)),
    copyFile: (from, to) =>
      run("copyFile", from, async () => {
        const target = await locate(to)
        if (target.handle?.kind === "directory") throw new ErrnoError("EISDIR", `illegal operation on a directory: ${to}`)
        await writeAll(to, await readAll(from), "w")
      }),
    link: unsupported("link"),
    makeDirectory: (path, options) => run("makeDirectory", path, () => makeDirectoryNow(path, options?.recursive === true)),
    makeTempDirectory,
    makeTempDirectoryScoped: (options) =>
      Effect.acquireRelease(makeTempDirectory(options), (path) =>
        Effect.promise(() => removeNow(path, { recursive: true, force: true }).catch(() => undefined))),
    makeTempFile,
    makeTempFileScoped: (options) =>
      Effect.acquireRelease(makeTempFile(options), (path) =>
        Effect.promise(() => removeNow(path, { force: true }).catch(() => undefined))),
    open: (path, options) =>
      Effect.acquireRelease(
        run("open", path, () => openNow(path, options?.flag ?? "r")),
        (file) => Effect.sync(() => close(file))
      ),
    readDirectory: (path, options) =>
      run("readDirectory", path, async () => listNow(await directoryAt(namesOf(path)), "", options?.recursive === true)),
    readFile: (path) =>
      run("readFile", path, async () => {
        const { handle } = await existing(path)
        if (handle.kind === "directory") throw new ErrnoError("EISDIR", `illegal operation on a directory: ${path}`)
        return readAll(path)
      }),
    readLink: (path) =>
      run("readLink", path, async () => {
        await existing(path)
        throw new ErrnoError("EINVAL", `not a symbolic link: ${path}`)
      }),
    realPath: (path) => run("realPath", path, async () => pathOf((await existing(path)).names)),
    remove: (path, options) => run("remove", path, () => removeNow(path, options)),
    rename: (from, to) => run("rename", from, () => renameNow(from, to)),
    stat: (path) => run("stat", path, () => statNow(path)),
    symlink: unsupported("symlink"),
    truncate: (path, length) =>
      run("truncate", path, async () => {
        const { handle } = await existing(path)
        if (handle.kind === "directory") throw new ErrnoError("EISDIR", `illegal operation on a directory: ${path}`)
        await withFile(path, "r+", (file) => file[SyncAccessId].truncate(length === undefined ? 0 : Number(length)))
      }),
    utimes: unsupported("utimes"),
    watch: (path) => Stream.fail(errno("watch", path, "ENOTSUP", "OPFS has no watch")),
    writeFile: (path, data, options) => run("writeFile", path, () => writeAll(path, data, options?.flag ?? "w"))
  })
}

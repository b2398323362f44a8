/** The `FileSystem` service over a volume, mirroring the observable behaviour of `NodeFileSystem`. */
import * as FileSystem from "@effect/platform/FileSystem"
import { Effect, Stream } from "effect"
import * as Path from "node:path"
import { ErrnoFailure, fail } from "./errno.js"
import { type Access, fileInfo, MemoryFile } from "./file.js"
import { run } from "./run.js"
import type { DirectoryNode, Location, Node, Volume } from "./volume.js"

interface OpenMode extends Access {
  readonly create: boolean
  readonly exclusive: boolean
  readonly truncate: boolean
}

const openModes: Record<FileSystem.OpenFlag, OpenMode> = {
  r: { readable: true, writable: false, append: false, create: false, exclusive: false, truncate: false },
  "r+": { readable: true, writable: true, append: false, create: false, exclusive: false, truncate: false },
  w: { readable: false, writable: true, append: false, create: true, exclusive: false, truncate: true },
  wx: { readable: false, writable: true, append: false, create: true, exclusive: true, truncate: true },
  "w+": { readable: true, writable: true, append: false, create: true, exclusive: false, truncate: true },
  "wx+": { readable: true, writable: true, append: false, create: true, exclusive: true, truncate: true },
  a: { readable: false, writable: true, append: true, create: true, exclusive: false, truncate: false },
  ax: { readable: false, writable: true, append: true, create: true, exclusive: true, truncate: false },
  "a+": { readable: true, writable: true, append: true, create: true, exclusive: false, truncate: false },
  "ax+": { readable: true, writable: true, append: true, create: true, exclusive: true, truncate: false }
}

type Found = Location & { readonly node: Node }

const nameAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

/** The `FileSystem` service of `volume`; temporary directories default to `tmpDirectory`. */
export const make = (volume: Volume, tmpDirectory: string): FileSystem.FileSystem => {
  const locate = (path: string, syscall: string): Location => volume.locate(path, syscall)

  const existing = (path: string, syscall: string, dest?: string): Found => {
    const location = volume.locate(path, syscall, path, dest)
    if (location.node === undefined) fail("ENOENT", syscall, path, dest)
    return location as Found
  }

  const openStep = (method: string, path: string, options?: FileSystem.OpenFileOptions) =>
    run(volume, method, path, () => {
      const mode = openModes[options?.flag ?? "r"]
      const { parent, name, node } = locate(path, "open")
      if (node === undefined) {
        if (!mode.create) fail("ENOENT", "open", path)
        return new MemoryFile(volume, volume.createFile(parent, name, options?.mode ?? 0o666), volume.resolve(path), mode)
      }
      if (mode.create && mode.exclusive) fail("EEXIST", "open", path)
      if (node._tag === "Directory" && mode.writable) fail("EISDIR", "open", path)
      if (node._tag === "File" && mode.truncate && node.live.length > 0) volume.truncateData(node, 0)
      return new MemoryFile(volume, node, volume.resolve(path), mode)
    })

  const open = (method: string, path: string, options?: FileSystem.OpenFileOptions) =>
    Effect.acquireRelease(openStep(method, path, options), (file) => Effect.sync(() => file.close()))

  const randomName = (length: number, alphabet: string): string => {
    let name = ""
    for (let i = 0; i < length; i++) name += alphabet[volume.names.int(alphabet.length)]
    return name
  }

  const makeTempDirectory = (method: string, options?: FileSystem.MakeTempDirectoryOptions) =>
    run(volume, method, options?.directory ?? tmpDirectory, () => {
      const directory = options?.directory === undefined ? tmpDirectory : Path.posix.join(options.directory, ".")
      const base = options?.prefix ? Path.posix.join(directory, options.prefix) : `${directory}/`
      for (;;) {
        const candidate = base + randomName(6, nameAlphabet)
        const { parent, name, node } = locate(candidate, "mkdtemp")
        if (node !== undefined) continue
        volume.createDirectory(parent, name, 0o700)
        return candidate
      }
    })

  const makeTempFile = (method: string, options?: FileSystem.MakeTempFileOptions) =>
    Effect.flatMap(makeTempDirectory(method, options), (directory) => {
      const path = Path.posix.join(directory, randomName(12, "0123456789abcdef") + (options?.suffix ?? ""))
      return Effect.as(Effect.scoped(open(method, path, { flag: "w+" })), path)
    })

  const removeStep = (path: string, options?: FileSystem.RemoveOptions) => {
    let location: Found
    try {
      location = existing(path, "lstat")
    } catch (error) {
      if (options?.force && error instanceof ErrnoFailure && error.code === "ENOENT") return
      throw error
    }
    const { parent, name, node } = location
    if (node === volume.root) fail("EBUSY", "rm", path)
    if (node._tag === "Directory" && !options?.recursive) fail("ERR_FS_EISDIR", "rm", path)
    if (node._tag === "File") volume.removed.set(volume.resolve(path), node.id)
    volume.changeEntries([{ directory: parent, name, node: undefined }])
  }

  const remove = (path: string, options?: FileSystem.RemoveOptions) =>
    run(volume, "remove", path, () => removeStep(path, options))

  const writeFileContents = (source: Node & { readonly _tag: "File" }, target: Node & { readonly _tag: "File" }) => {
    if (target === source) return
    if (target.live.length > 0) volume.truncateData(target, 0)
    volume.writeData(target, 0, source.live.toUint8Array())
  }

  const copyNode = (source: Node, toPath: string, overwrite: boolean): void => {
    const target = locate(toPath, "cp")
    if (source._tag === "File") {
      if (target.node?._tag === "Directory") fail("ERR_FS_CP_NON_DIR_TO_DIR", "cp", toPath)
      if (target.node !== undefined && !overwrite) return
      writeFileContents(source, target.node ?? volume.createFile(target.parent, target.name, source.mode))
      return
    }
    if (target.node?._tag === "File") fail("ERR_FS_CP_DIR_TO_NON_DIR", "cp", toPath)
    if (target.node === undefined) volume.createDirectory(target.parent, target.name, source.mode)
    for (const name of [...source.entries.keys()].sort()) {
      copyNode(volume.nodes.get(source.entries.get(name)!)!, Path.posix.join(toPath, name), overwrite)
    }
  }

  const listDirectory = (directory: DirectoryNode, prefix: string, recursive: boolean, into: Array<string>) => {
    for (const name of [...directory.entries.keys()].sort()) {
      const path = prefix + name
      into.push(path)
      const child = volume.child(directory, name)!
      if (recursive && child._tag === "Directory") listDirectory(child, `${path}/`, true, into)
    }
    return into
  }

  return FileSystem.make({
    access: (path) =>
      run(volume, "access", path, () => {
        existing(path, "access")
      }),
    chmod: (path, mode) =>
      run(volume, "chmod", path, () => {
        existing(path, "chmod").node.mode = mode & 0o7777
      }),
    chown: (path) =>
      run(volume, "chown", path, () => {
        existing(path, "chown")
      }),
    copy: (fromPath, toPath, options) =>
      run(volume, "copy", fromPath, () => {
        const source = existing(fromPath, "lstat").node
        const from = volume.resolve(fromPath)
        const to = volume.resolve(toPath)
        if (to === from || to.startsWith(`${from}/`)) fail("ERR_FS_CP_EINVAL", "cp", toPath)
        volume.makeDirectories(Path.posix.dirname(to), 0o777, "cp", toPath)
        copyNode(source, toPath, options?.overwrite ?? false)
      }),
    copyFile: (fromPath, toPath) =>
      run(volume, "copyFile", fromPath, () => {
        const source = existing(fromPath, "copyfile", toPath).node
        if (source._tag === "Directory") fail("EISDIR", "copyfile", fromPath, toPath)
        const target = volume.locate(toPath, "copyfile", fromPath, toPath)
        if (target.node?._tag === "Directory") fail("EISDIR", "copyfile", fromPath, toPath)
        writeFileContents(source, target.node ?? volume.createFile(target.parent, target.name, source.mode))
      }),
    link: (fromPath, toPath) =>
      run(volume, "link", fromPath, () => {
        const source = existing(fromPath, "link", toPath).node
        if (source._tag === "Directory") fail("EPERM", "link", fromPath, toPath)
        const target = volume.locate(toPath, "link", fromPath, toPath)
        if (target.node !== undefined) fail("EEXIST", "link", fromPath, toPath)
        volume.changeEntries([{ directory: target.parent, name: target.name, node: source }])
      }),
    makeDirectory: (path, options) =>
      run(volume, "makeDirectory", path, () => {
        if (options?.recursive) {
          volume.makeDirectories(path, options.mode ?? 0o777, "mkdir", path)
          return
        }
        const { parent, name, node } = locate(path, "mkdir")
        if (node !== undefined) fail("EEXIST", "mkdir", path)
        volume.createDirectory(parent, name, options?.mode ?? 0o777)
      }),
    makeTempDirectory: (options) => makeTempDirectory("makeTempDirectory", options),
    makeTempDirectoryScoped: (options) =>
      Effect.acquireRelease(
        makeTempDirectory("makeTempDirectoryScoped", options),
        (directory) => Effect.ignore(remove(directory, { recursive: true }))
      ),
    makeTempFile: (options) => makeTempFile("makeTempFile", options),
    makeTempFileScoped: (options) =>
      Effect.acquireRelease(
        makeTempFile("makeTempFileScoped", options),
        (file) => Effect.ignore(remove(Path.posix.dirname(file), { recursive: true }))
      ),
    open: (path, options) => open("open", path, options),
    readDirectory: (path, options) =>
      run(volume, "readDirectory", path, () => {
        const { node } = existing(path, "scandir")
        if (node._tag === "File") fail("ENOTDIR", "scandir", path)
        return listDirectory(node, "", options?.recursive ?? false, [])
      }),
    readFile: (path) =>
      run(volume, "readFile", path, () => {
        const { node } = existing(path, "open")
        if (node._tag === "Directory") fail("EISDIR", "read")
        return node.live.toUint8Array()
      }),
    readLink: (path) =>
      run(volume, "readLink", path, () => {
        existing(path, "readlink")
        return fail("EINVAL", "readlink", path)
      }),
    realPath: (path) =>
      run(volume, "realPath", path, () => {
        existing(path, "lstat")
        return volume.resolve(path)
      }),
    remove,
    rename: (oldPath, newPath) =>
      run(volume, "rename", oldPath, () => {
        const source = existing(oldPath, "rename", newPath)
        const target = volume.locate(newPath, "rename", oldPath, newPath)
        if (target.node === source.node) return
        if (source.node === volume.root) fail("EBUSY", "rename", oldPath, newPath)
        if (source.node._tag === "File") {
          if (target.node?._tag === "Directory") fail("EISDIR", "rename", oldPath, newPath)
        } else {
          if (target.node?._tag === "File") fail("ENOTDIR", "rename", oldPath, newPath)
          if (target.node?._tag === "Directory" && target.node.entries.size > 0) {
            fail("ENOTEMPTY", "rename", oldPath, newPath)
          }
          if (volume.resolve(newPath).startsWith(`${volume.resolve(oldPath)}/`)) {
            fail("EINVAL", "rename", oldPath, newPath)
          }
        }
        volume.changeEntries([
          { directory: source.parent, name: source.name, node: undefined },
          { directory: target.parent, name: target.name, node: source.node }
        ])
      }),
    stat: (path) => run(volume, "stat", path, () => fileInfo(volume, existing(path, "stat").node)),
    symlink: (fromPath, toPath) => run(volume, "symlink", fromPath, () => fail("ENOTSUP", "symlink", fromPath, toPath)),
    truncate: (path, length) =>
      run(volume, "truncate", path, () => {
        const { node } = existing(path, "open")
        if (node._tag === "Directory") fail("EISDIR", "open", path)
        volume.truncateData(node, Number(length ?? 0))
      }),
    utimes: (path, atime, mtime) =>
      run(volume, "utime", path, () => {
        const { node } = existing(path, "utime")
        node.atime = typeof atime === "number" ? atime * 1000 : atime.getTime()
        node.mtime = typeof mtime === "number" ? mtime * 1000 : mtime.getTime()
      }),
    watch: (path) => Stream.fail(new ErrnoFailure("ENOTSUP", "watch", path).toSystemError("watch", path)),
    writeFile: (path, data, options) =>
      Effect.scoped(
        Effect.flatMap(
          open("writeFile", path, { flag: options?.flag ?? "w", ...(options?.mode === undefined ? {} : { mode: options.mode }) }),
          (file) => data.length === 0 ? Effect.void : file.writeAllAs("writeFile", path, data)
        )
      )
  })
}

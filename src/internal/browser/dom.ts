/**
 * The parts of the browser's storage APIs the browser entry uses, typed here so the project
 * compiles against Node's types without the DOM library: the Origin Private File System
 * (`navigator.storage.getDirectory()`, directory and file handles, `FileSystemSyncAccessHandle`)
 * and the Web Locks API (`navigator.locks`). The shapes follow the WHATWG File System and Web
 * Locks standards.
 */

/** Where a sync access handle reads or writes. */
export interface ReadWriteOptions {
  readonly at?: number
}

/** `FileSystemSyncAccessHandle`: synchronous I/O on one OPFS file, dedicated workers only. */
export interface SyncAccessHandle {
  read(buffer: Uint8Array, options?: ReadWriteOptions): number
  write(buffer: Uint8Array, options?: ReadWriteOptions): number
  truncate(size: number): void
  getSize(): number
  flush(): void
  close(): void
}

/** `FileSystemFileHandle`. */
export interface FileHandle {
  readonly kind: "file"
  readonly name: string
  createSyncAccessHandle(options?: { readonly mode?: "readwrite" | "read-only" | "readwrite-unsafe" }): Promise<SyncAccessHandle>
  getFile(): Promise<{ readonly size: number; readonly lastModified: number }>
  move(parent: DirectoryHandle, name: string): Promise<void>
}

/** `FileSystemDirectoryHandle`. */
export interface DirectoryHandle {
  readonly kind: "directory"
  readonly name: string
  getDirectoryHandle(name: string, options?: { readonly create?: boolean }): Promise<DirectoryHandle>
  getFileHandle(name: string, options?: { readonly create?: boolean }): Promise<FileHandle>
  removeEntry(name: string, options?: { readonly recursive?: boolean }): Promise<void>
  /** Missing in Chromium, which moves files only. */
  readonly move?: (parent: DirectoryHandle, name: string) => Promise<void>
  keys(): AsyncIterable<string>
}

/** The `Lock` a Web Locks callback receives; `null` when `ifAvailable` found the lock held. */
export interface WebLock {
  readonly name: string
}

/** `LockManager` (`navigator.locks`). */
export interface LockManager {
  request(
    name: string,
    options: { readonly mode?: "exclusive" | "shared"; readonly ifAvailable?: boolean },
    callback: (lock: WebLock | null) => Promise<void> | void
  ): Promise<void>
}

/** The `navigator` of a worker or a page, as far as the browser entry uses it. */
export interface BrowserNavigator {
  readonly storage?: {
    getDirectory(): Promise<DirectoryHandle>
    estimate(): Promise<{ readonly usage?: number; readonly quota?: number }>
  }
  readonly locks?: LockManager
}

/** `globalThis.navigator`, when there is one. */
export const browserNavigator = (): BrowserNavigator | undefined =>
  (globalThis as { readonly navigator?: BrowserNavigator }).navigator

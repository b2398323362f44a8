/**
 * effect-wal's Node entry point (`effect-wal/node`): the parts that need `@effect/platform-node`,
 * an optional peer dependency that only this entry point loads. The main entry point runs on any
 * platform that provides a `FileSystem` and a `Path`.
 *
 * @since 0.2.0
 * @packageDocumentation
 */

/**
 * @since 0.1.0
 * @category modules
 */
export * as NodeFastFileSystem from "./NodeFastFileSystem.js"

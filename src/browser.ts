/**
 * effect-wal's browser entry point (`effect-wal/browser`): the WAL on the Origin Private File
 * System in a dedicated worker. It re-exports the platform-neutral modules a browser application
 * uses, so a worker imports everything from here and its bundle holds no Node module; the main
 * entry point also exports the Node layers and is meant for Node, Bun and Deno.
 *
 * @since 0.2.0
 * @packageDocumentation
 */

/**
 * @since 0.2.0
 * @category modules
 */
export * as Codec from "./Codec.js"

/**
 * @since 0.2.0
 * @category modules
 */
export * as Durability from "./Durability.js"

/**
 * @since 0.2.0
 * @category modules
 */
export * as OpfsFileSystem from "./OpfsFileSystem.js"

/**
 * @since 0.2.0
 * @category modules
 */
export * as Wal from "./Wal.js"

/**
 * @since 0.2.0
 * @category modules
 */
export * as WalError from "./WalError.js"

/**
 * @since 0.2.0
 * @category modules
 */
export * as WriterLock from "./WriterLock.js"

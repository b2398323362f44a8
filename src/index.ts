/**
 * effect-wal: a durable, segmented, checksummed write-ahead log for Effect.
 *
 * @since 0.1.0
 * @packageDocumentation
 */

/**
 * @since 0.1.0
 * @category modules
 */
export * as Archiver from "./Archiver.js"

/**
 * @since 0.1.0
 * @category modules
 */
export * as Codec from "./Codec.js"

/**
 * @since 0.1.0
 * @category modules
 */
export * as Durability from "./Durability.js"

/**
 * @since 0.1.0
 * @category modules
 */
export * as Follower from "./Follower.js"

/**
 * @since 0.2.0
 * @category modules
 */
export * as Host from "./Host.js"

/**
 * @since 0.1.0
 * @category modules
 */
export * as Inspect from "./Inspect.js"

/**
 * @since 0.1.0
 * @category modules
 */
export * as MemoryFileSystem from "./MemoryFileSystem.js"

/**
 * Also at `effect-wal/node`. Its layer loads `@effect/platform-node` only when it is built, so this
 * entry point loads without that optional peer dependency.
 *
 * @since 0.1.0
 * @category modules
 */
export * as NodeFastFileSystem from "./NodeFastFileSystem.js"

/**
 * @since 0.2.0
 * @category modules
 */
export * as Testing from "./Testing.js"

/**
 * @since 0.1.0
 * @category modules
 */
export * as Wal from "./Wal.js"

/**
 * @since 0.1.0
 * @category modules
 */
export * as WalError from "./WalError.js"

/**
 * @since 0.2.0
 * @category modules
 */
export * as WriterLock from "./WriterLock.js"

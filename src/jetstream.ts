/**
 * effect-wal's JetStream entry point (`effect-wal/jetstream`): the `Wal` contract on a replicated
 * NATS JetStream stream. Only this entry point loads `@nats-io/jetstream` and
 * `@nats-io/transport-node`, optional peer dependencies that users of the file WAL never install.
 *
 * @since 0.3.0
 * @packageDocumentation
 */

/**
 * @since 0.3.0
 * @category modules
 */
export * as JetStreamWal from "./JetStreamWal.js"

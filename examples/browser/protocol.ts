/**
 * The messages between the example page and its worker. The page asks, the worker answers with the
 * same `id`; entries from the worker's `tail` arrive as `entry` events without an id.
 */

/** A journal entry as the log stores it. */
export interface Note {
  readonly text: string
}

/** Page to worker. */
export type Request = { readonly id: number; readonly type: "append"; readonly text: string }

/** Worker to page. */
export type Event =
  | { readonly type: "ready"; readonly replayed: number; readonly recovery: string }
  | { readonly type: "entry"; readonly seq: number; readonly timestamp: number; readonly text: string }
  | { readonly type: "acked"; readonly id: number; readonly seq: number }
  | { readonly type: "failed"; readonly id?: number; readonly error: string }

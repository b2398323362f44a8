/**
 * When the writer fsyncs: the durability mode's rule for a batch, in one place.
 */
import type * as Durability from "../../Durability.js"

/**
 * Whether the batch just written must be fsynced before it is acknowledged: always when a sync or
 * close asked for it, and in `strict` and `grouped` mode; in `buffered` mode once `unsyncedBytes`
 * reach the mode's threshold (its interval is the writer's timer); never in `none` mode.
 */
export const mustSync = (mode: Durability.Durability, unsyncedBytes: number, requested: boolean): boolean => {
  if (requested) return true
  switch (mode._tag) {
    case "Strict":
    case "Grouped":
      return true
    case "Buffered":
      return unsyncedBytes >= mode.bytes
    case "None":
      return false
  }
}

/**
 * The stress test's shared region: u32 words that the workers, the Python
 * holder and the driver read and write. Written under the lock except
 * `VIOLATIONS` (an atomic add, so a broken lock cannot lose the count) and
 * `STOP` (set by the driver).
 *
 * | word | meaning |
 * |---|---|
 * | `OWNER` | slot inside the critical section, 0 when none |
 * | `OWNER_PID` | its pid (written before `OWNER`) |
 * | `COUNTER` | incremented by every critical section, read → yield → write |
 * | `VIOLATIONS` | exclusion violations seen by workers |
 * | `RECOVERIES` | guards that came back `recovered` |
 * | `REPAIRED` | increments of killed holders completed on recovery |
 * | `STOP` | non-zero: workers and the Python holder finish |
 * | `DONE + slot` | critical sections slot completed (its increments of `COUNTER`) |
 * | `RECOVERED_FROM + slot` | 1: a recovering holder found slot's owner mark |
 *
 * A slot is one task of one worker process incarnation (or the Python
 * holder); a restarted worker gets new slots, so a dead one's counts stay.
 *
 * @module
 */

/** Word index: the slot inside the critical section. */
export const OWNER = 0;
/** Word index: the pid of the slot inside. */
export const OWNER_PID = 1;
/** Word index: the counter. */
export const COUNTER = 2;
/** Word index: violations counted by workers. */
export const VIOLATIONS = 3;
/** Word index: recovered guards. */
export const RECOVERIES = 4;
/** Word index: killed holders' increments completed on recovery. */
export const REPAIRED = 5;
/** Word index: the driver's stop flag. */
export const STOP = 6;
/** The Python holder's slot. */
export const PYTHON_SLOT = 1;
/** The first slot given to a worker task. */
export const FIRST_WORKER_SLOT = 2;
/** Slots available; kills stop when the run has used them all. */
export const MAX_SLOTS = 8192;
/** Word index of `done[0]`. */
export const DONE = 16;
/** Word index of `recoveredFrom[0]`. */
export const RECOVERED_FROM = DONE + MAX_SLOTS;
/** Words in the region. */
export const REGION_WORDS = RECOVERED_FROM + MAX_SLOTS;
/** Bytes in the region: the lock's `length`. */
export const REGION_LENGTH = REGION_WORDS * 4;
/** The lock's name in the run's directory. */
export const LOCK_NAME = "stress";

/** The region's words over a `guard.memory` or a raw mapping of the region. */
export function regionWords(memory: Uint8Array | ArrayBuffer): Uint32Array {
  return memory instanceof Uint8Array
    ? new Uint32Array(memory.buffer, memory.byteOffset, REGION_WORDS)
    : new Uint32Array(memory, 0, REGION_WORDS);
}

/** Sum of every slot's completed critical sections. */
export function totalDone(words: Uint32Array): number {
  let total = 0;
  for (let slot = 0; slot < MAX_SLOTS; slot++) total += words[DONE + slot];
  return total;
}

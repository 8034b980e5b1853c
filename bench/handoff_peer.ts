/**
 * The second process of a hand-off benchmark (side 1 of the ping-pong).
 * Usage: `handoff_peer.ts VARIANT DIR CONTROL_PATH ROUNDS [TREE]`.
 *
 * @module
 */

import process from "node:process";
import { Control } from "./control.ts";
import { makeLocker, participate, type Variant } from "./handoff.ts";

const [variant, dir, ctlPath, rounds, tree] = process.argv.slice(2);
const ctl = new Control(ctlPath);
const locker = await makeLocker(variant as Variant, dir, ctl, tree);
await participate(locker, ctl, 1, Number(rounds));
process.exit(0);

/**
 * The processes of a stress run: worker incarnations in lanes (a killed
 * worker's lane gets a new process with new slots), the Python holder, and
 * the driver's kills.
 *
 * @module
 */

import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { HEADER_SIZE } from "../src/engine/local/header.ts";
import { runtimeCommand } from "../tests/helpers.ts";
import { type Proc, spawnProc } from "./children.ts";
import type { Control } from "./control.ts";
import {
  COUNTER,
  DONE,
  FIRST_WORKER_SLOT,
  LOCK_NAME,
  MAX_SLOTS,
  OWNER,
  OWNER_PID,
  PYTHON_SLOT,
  REGION_LENGTH,
  STOP,
} from "./layout.ts";
import type { StressOptions } from "./options.ts";
import { sleep } from "./pace.ts";
import { chance } from "./random.ts";
import type { Incarnation, PythonResult, WorkerResult } from "./verify.ts";

const HERE = fileURLToPath(new URL(".", import.meta.url));
/** Debian's python with python3-filelock; `python3` on PATH may be a pyenv without it. */
const PYTHON = "/usr/bin/python3";
/** Violation lines echoed as they come (all are counted). */
const ECHOED_VIOLATIONS = 20;

/** A worker process of the run, with its process handle. */
export interface Running extends Incarnation {
  proc: Proc;
  ready: boolean;
}

/** The run's processes, and what happened to them. */
export class Fleet {
  /** Every worker process started, killed ones included. */
  readonly incarnations: Running[] = [];
  /** Crashes, early exits and hangs seen so far. */
  readonly failures: string[] = [];
  /** The worker process behind each slot. */
  readonly bySlot = new Map<number, Running>();
  /** Killed workers are replaced only while the phase is `run`. */
  phase: "start" | "run" | "stop" = "start";
  /** SIGKILLs sent. */
  kills = 0;
  /** Of those, to a worker the owner word named as inside. */
  killsInside = 0;
  /** Prints a line from a child (the driver points it above its progress line). */
  print: (line: string) => void = (line) => console.log(line);
  /** The Python holder and, once it has exited, its report. */
  python?: { proc: Proc; result?: PythonResult };
  #nextSlot = FIRST_WORKER_SLOT;
  #echoed = 0;

  /** A fleet for `options`, its lock in `dir`. */
  constructor(readonly options: StressOptions, readonly dir: string) {}

  /** Whether slots are left for one more worker process. */
  canStart(): boolean {
    return this.#nextSlot + this.options.tasks <= MAX_SLOTS;
  }

  /** Starts a worker in `lane` (even lanes Deno, odd lanes Bun), if slots are left. */
  startWorker(lane: number): void {
    const { tasks, lock } = this.options;
    if (!this.canStart()) return;
    const slots = Array.from({ length: tasks }, () => this.#nextSlot++);
    const runtime = lane % 2 === 0 ? "deno" : "bun";
    const [command, argv] = runtimeCommand(
      runtime,
      join(HERE, "worker.ts"),
      [
        lock ? "lock" : "nolock",
        LOCK_NAME,
        this.dir,
        slots.join(","),
        String(process.pid),
        String(this.options.maxHold),
      ],
    );
    const inc: Running = {
      lane,
      runtime,
      slots,
      killed: false,
      ready: false,
      proc: spawnProc(command, argv, (line) => this.#onLine(inc, line)),
    };
    this.incarnations.push(inc);
    for (const slot of slots) this.bySlot.set(slot, inc);
    inc.proc.exited.then(({ code, signal }) => {
      if (inc.killed) {
        if (this.phase === "run") this.startWorker(lane);
      } else if (code !== 0 || inc.result === undefined) {
        this.failures.push(
          `${runtime} worker ${inc.proc.pid} (slots ${slots}) exited ${
            code ?? signal
          }${
            inc.result === undefined ? " without a result" : ""
          }: ${inc.proc.stderr().trim()}`,
        );
      } else if (this.phase !== "stop") {
        this.failures.push(`${runtime} worker ${inc.proc.pid} stopped early`);
      }
    });
  }

  /** Starts the Python holder. */
  startPython(dataPath: string, lockPath: string): void {
    const config = {
      data: dataPath,
      lock: lockPath,
      header: HEADER_SIZE,
      length: REGION_LENGTH,
      owner: OWNER,
      ownerPid: OWNER_PID,
      counter: COUNTER,
      stop: STOP,
      done: DONE,
      slot: PYTHON_SLOT,
    };
    const python: { proc: Proc; result?: PythonResult } = {
      proc: spawnProc(
        PYTHON,
        [join(HERE, "python_holder.py"), JSON.stringify(config)],
        (line) => {
          if (line.startsWith("result ")) {
            python.result = JSON.parse(line.slice(7)) as PythonResult;
          } else this.#echo(line);
        },
      ),
    };
    this.python = python;
  }

  #onLine(inc: Running, line: string): void {
    if (line === "ready") inc.ready = true;
    else if (line.startsWith("result ")) {
      inc.result = JSON.parse(line.slice(7)) as WorkerResult;
    } else this.#echo(`${inc.runtime} ${inc.proc.pid}: ${line}`);
  }

  #echo(line: string): void {
    if (!line.includes("violation")) this.print(line);
    else if (this.#echoed++ < ECHOED_VIOLATIONS) this.print(line);
  }

  /** Workers that run and have said `ready`. */
  live(): Running[] {
    return this.incarnations.filter((inc) =>
      inc.ready && !inc.killed && inc.proc.alive
    );
  }

  /** SIGKILLs `inc`; the exit handler starts its successor. */
  kill(inc: Running, inside: boolean): void {
    inc.killed = true;
    inc.proc.kill("SIGKILL");
    this.kills++;
    if (inside) this.killsInside++;
  }
}

/**
 * Kills a worker: mostly one the owner word names as inside (watched for
 * up to 100 ms); one time in four, or when nobody is inside, another one —
 * waiting in the kernel for the lock, or between operations — which must
 * not disturb anyone either.
 */
export async function killOne(
  fleet: Fleet,
  control: Control,
): Promise<void> {
  // Without slots for a successor, a kill would shrink the fleet.
  if (!fleet.canStart()) return;
  const until = performance.now() + 100;
  const inside = !chance(0.25);
  while (inside && performance.now() < until) {
    const inc = fleet.bySlot.get(control.read(OWNER));
    if (inc !== undefined && inc.ready && !inc.killed && inc.proc.alive) {
      fleet.kill(inc, true);
      return;
    }
    await sleep(0);
  }
  const owner = control.read(OWNER);
  const others = fleet.live().filter((inc) => !inc.slots.includes(owner));
  if (others.length > 0) {
    fleet.kill(others[Math.floor(Math.random() * others.length)], false);
  }
}

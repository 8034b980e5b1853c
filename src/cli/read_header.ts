/**
 * Reads a data file's header with one positioned read (`pread`) of a
 * read-only descriptor: no mmap, no lock, nothing written, so looking can
 * never disturb a holder or a waiter.
 *
 * @module
 */

import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { Header, HEADER_SIZE } from "../engine/local/header.ts";
import { isPermissionError } from "./errors.ts";

/** What the start of a data file holds. */
export type HeaderRead =
  | { readonly kind: "header"; readonly header: Header }
  /** No data file at the path. */
  | { readonly kind: "missing" }
  /** A data file created but never initialized (empty, or all zeros). */
  | { readonly kind: "empty" }
  /** Something else is there: not a memshare file, or unreadable. */
  | { readonly kind: "problem"; readonly problem: string };

// O_NONBLOCK: a FIFO put at the path must not hang the CLI on open.
const FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** Reads and checks the header of the data file at `path`. */
export function readHeader(path: string): HeaderRead {
  let fd: number;
  try {
    fd = openSync(path, FLAGS);
  } catch (error) {
    return failed(error);
  }
  try {
    if (!fstatSync(fd).isFile()) {
      return {
        kind: "problem",
        problem: "the data file is not a regular file",
      };
    }
    const bytes = new Uint8Array(HEADER_SIZE);
    const n = readSync(fd, bytes, 0, HEADER_SIZE, 0);
    if (n === 0) return { kind: "empty" };
    if (n < HEADER_SIZE) {
      return {
        kind: "problem",
        problem: `not a memshare data file (${n} bytes, shorter than a header)`,
      };
    }
    const header = new Header(bytes.buffer);
    const check = header.check();
    if (!check.ok) {
      // "it is not a memshare data file (…)" → "not a memshare data file (…)"
      const problem = check.problem.replace(/^its? (is |was )?/, "");
      return { kind: "problem", problem };
    }
    return check.fresh ? { kind: "empty" } : { kind: "header", header };
  } catch (error) {
    return failed(error);
  } finally {
    closeSync(fd);
  }
}

function failed(error: unknown): HeaderRead {
  if (isPermissionError(error)) throw error;
  const code = (error as { code?: string }).code;
  if (code === "ENOENT") return { kind: "missing" };
  return {
    kind: "problem",
    problem: code === "ELOOP"
      ? "the data file is a symlink (memshare refuses it)"
      : code === "EACCES"
      ? "cannot read the data file: permission denied"
      : `cannot read the data file: ${(error as Error).message}`,
  };
}

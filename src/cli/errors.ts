/**
 * The one error the CLI reports as a usage or environment problem: printed
 * as a single line, exit code 2.
 *
 * @module
 */

/** A problem the user can fix (bad arguments, a wrong directory); exit code 2. */
export class CliError extends Error {
  /** Error name, for `error.name` checks. */
  override readonly name = "CliError";
}

/** Whether `error` is Deno refusing an operation for lack of a permission flag. */
export function isPermissionError(error: unknown): error is Error {
  return error instanceof Error &&
    (error.name === "NotCapable" || error.name === "PermissionDenied");
}

/**
 * `text` with the password of every URL in it written as `***`
 * (`redis://user:secret@host` → `redis://user:***@host`).
 */
export function maskUrls(text: string): string {
  return text.replace(
    /\b([a-z][a-z0-9+.-]*:\/\/[^\s:@/"']*:)[^\s@/"']*@/gi,
    "$1***@",
  );
}

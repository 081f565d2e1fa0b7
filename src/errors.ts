/**
 * The one error type of bunc. Everything below src/cli/ throws it (or lets a
 * lower error propagate as its `cause`); the CLI prints it exactly once.
 */
export class BuncError extends Error {
  /** A short machine-readable code, e.g. "ENOENT", "EINVAL", "CONFIG", "STATE". */
  readonly code: string;
  /** The errno of the failed syscall, where there is one. */
  readonly errno?: number;

  constructor(message: string, opts: { code?: string; errno?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "BuncError";
    this.code = opts.code ?? "EINVAL";
    this.errno = opts.errno;
  }
}

// One error type for every expected failure (bad input, missing files, bad config). The message is one
// line: what went wrong, where (file, key, tensor), and what to do. src/cli prints it and exits non-zero;
// any other error is a bug and is printed with its stack.

export class TfewError extends Error {
  /** Process exit code the CLI uses for this error. */
  readonly exitCode: number;
  constructor(message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "TfewError";
    this.exitCode = options.exitCode ?? 1;
  }
}

export function isTfewError(error: unknown): error is TfewError {
  return error instanceof TfewError;
}

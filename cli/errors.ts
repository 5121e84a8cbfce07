// Errors the CLI turns into exit codes: UsageError -> 2 (bad arguments, bad input
// file, bad configuration), OperationError -> 1 (the operation ran and failed),
// HelpRequested -> 0 with its message (the usage text) on stdout.
// Anything else is a bug and is reported as one line too, never as a stack trace
// (set BRIDGELAB_DEBUG=1 to see it).

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export class OperationError extends Error {
  override readonly name = 'OperationError';
}

/** `--help`: the message is the usage text, printed on stdout with exit code 0. */
export class HelpRequested extends Error {}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

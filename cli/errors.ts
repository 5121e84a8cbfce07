// Errors the CLI turns into exit codes: UsageError -> 2 (bad arguments, bad input
// file, bad configuration), OperationError -> 1 (the operation ran and failed),
// HelpRequested -> 0 (--help: the text goes to stdout).
// Anything else is a bug and is reported as one line too, never as a stack trace
// (set BRIDGELAB_DEBUG=1 to see it).

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export class OperationError extends Error {
  override readonly name = 'OperationError';
}

/** Thrown by a command for --help / -h; cli/main.ts prints the message (the help text) on stdout, exit 0. */
export class HelpRequested extends Error {
  override readonly name = 'HelpRequested';
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

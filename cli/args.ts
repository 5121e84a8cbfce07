// Command-line options of the bridgelab subcommands: node:util parseArgs with its errors as
// usage errors (exit 2, one line naming the command, then its usage text), and whole-number
// option values checked against their range.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors.ts';

/** parseArgs, whose ERR_PARSE_ARGS_* errors become `<command>: <what is wrong>` usage errors. */
export function parseCommandArgs<T extends ParseArgsConfig>(command: string, config: T, usage?: string): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      throw new UsageError(`${command}: ${(err as Error).message.split('\n')[0]}${usage ? `\n${usage}` : ''}`);
    }
    throw err;
  }
}

/** The value of --flag as a whole number in [min, max]; undefined when the option was not given. */
export function wholeNumber(flag: string, value: string | undefined, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`--${flag} must be a whole number${max < Number.MAX_SAFE_INTEGER ? ` from ${min} to ${max}` : ''}, got '${value}'`);
  }
  return Number(value);
}

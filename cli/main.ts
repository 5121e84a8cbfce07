// `bridgelab` command line: one binary, one subcommand per job.
// Subcommands are loaded lazily so that `bridgelab decode` does not pay for the
// SM-DP+ or the suites. Exit codes: 0 ok, 1 operation failed, 2 usage error.
import { UsageError, OperationError, HelpRequested, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './errors.ts';

export type Subcommand = (args: string[]) => Promise<number>;

/**
 * The software eUICC used when a command is given no other card: its state file is
 * $BRIDGELAB_EUICC_STATE or ~/.bridgelab/euicc.json, so that successive `bridgelab lpa`
 * runs see the same card.
 */
async function inProcessEuicc() {
  const { createEuicc } = await import('../sim/euicc/euicc.ts');
  const { StateFileError } = await import('../sim/euicc/state.ts');
  const { homedir } = await import('node:os');
  const { join } = await import('node:path');
  try {
    return await createEuicc({ statePath: process.env.BRIDGELAB_EUICC_STATE ?? join(homedir(), '.bridgelab', 'euicc.json') });
  } catch (e) {
    // a damaged state file is the user's to restore: one line naming it, exit 1
    if (e instanceof StateFileError) throw new OperationError(e.message);
    throw e;
  }
}

const SUBCOMMANDS: Record<string, { summary: string; load: () => Promise<Subcommand> }> = {
  certify: { summary: 'run the conformance suites on a rig and write a report', load: async () => (await import('./certify.ts')).certifyCommand },
  report: { summary: 'compare two certify reports, or merge the reports of sharded runs', load: async () => (await import('./report.ts')).reportCommand },
  modem: {
    summary: 'fake modem (personality) on a PTY for a bridge under test, with the software eUICC behind it',
    load: async () => {
      const { modemCommand } = await import('./modem.ts');
      return (args) => modemCommand(args, { transportFactory: inProcessEuicc });
    },
  },
  'qmi-modem': { summary: 'fake QMI modem (QMUX, UIM service) on a PTY for qmicli or a QMI bridge back-end', load: async () => { const { qmiModemCommand } = await import('./qmi-modem.ts'); return (args) => qmiModemCommand(args, { createCard: inProcessEuicc }); } },
  'mbim-modem': { summary: 'fake MBIM modem (MS UICC low-level access) on a PTY for mbimcli or an MBIM bridge back-end', load: async () => { const { mbimModemCommand } = await import('./mbim-modem.ts'); return (args) => mbimModemCommand(args, { createCard: inProcessEuicc }); } },
  euicc: { summary: 'run the software eUICC in a vsmartcard vpcd reader (PC/SC)', load: async () => (await import('./euicc.ts')).euiccCommand },
  bridge: { summary: 'run the reference LPA Bridge on a modem serial port', load: async () => (await import('./bridge.ts')).bridgeCommand },
  lpa: {
    summary: 'test LPA (lpac-compatible JSON): chip info, profiles, download, notifications',
    load: async () => {
      const { lpaCommand } = await import('./lpa.ts');
      return (args) => lpaCommand(args, { createTransport: inProcessEuicc });
    },
  },
  smdp: { summary: 'run the test SM-DP+ (ES9+, ES2+, SM-DS) or place ES2+ orders', load: async () => (await import('./smdp.ts')).smdpCommand },
  characterize: { summary: 'probe a real modem over its AT port and write a personality JSON', load: async () => (await import('./characterize.ts')).characterizeCommand },
  decode: { summary: 'decode SGP.22 DER or an activation code to JSON', load: async () => (await import('./decode.ts')).decodeCommand },
  certs: { summary: 'list, verify and issue SGP.22 test certificates', load: async () => (await import('./certs.ts')).certsCommand },
};

function usage(): string {
  const lines = Object.entries(SUBCOMMANDS).map(([name, s]) => `  ${name.padEnd(10)} ${s.summary}`);
  return ['usage: bridgelab <command> [options]', '', 'commands:', ...lines, '', "run 'bridgelab <command> --help' for a command's options"].join('\n');
}

export function registerSubcommand(name: string, summary: string, load: () => Promise<Subcommand>): void {
  SUBCOMMANDS[name] = { summary, load };
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  try {
    if (name === undefined) throw new UsageError(usage());
    if (name === '--help' || name === '-h' || name === 'help') throw new HelpRequested(usage());
    const entry = SUBCOMMANDS[name];
    if (!entry) throw new UsageError(`unknown command '${name}'\n${usage()}`);
    const run = await entry.load();
    return await run(rest);
  } catch (err) {
    return reportError(err);
  }
}

export function reportError(err: unknown): number {
  if (err instanceof HelpRequested) {
    process.stdout.write(err.message.endsWith('\n') ? err.message : `${err.message}\n`);
    return EXIT_OK;
  }
  if (process.env.BRIDGELAB_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  if (err instanceof UsageError) {
    process.stderr.write(`bridgelab: ${err.message}\n`);
    return EXIT_USAGE;
  }
  if (err instanceof OperationError) {
    process.stderr.write(`bridgelab: ${err.message}\n`);
    return EXIT_FAILURE;
  }
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  process.stderr.write(`bridgelab: internal error: ${message}\n`);
  return EXIT_FAILURE;
}

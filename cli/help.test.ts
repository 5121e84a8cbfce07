// --help on every command and sub-command prints its usage on stdout and exits 0 (a
// HelpRequested from the command, printed by cli/main.ts); no command or an unknown one is a
// usage error on stderr (exit 2).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from './main.ts';
import { DEFECT_NAMES } from '../sim/bridge/defects.ts';

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  try {
    const code = await main(argv);
    return { code, stdout, stderr };
  } finally {
    vi.restoreAllMocks();
  }
}

describe('bridgelab --help', () => {
  afterEach(() => vi.restoreAllMocks());

  it('lists the commands on stdout, exit 0; no command is a usage error', async () => {
    for (const flag of ['--help', '-h', 'help']) {
      const r = await run([flag]);
      expect(r).toMatchObject({ code: 0, stderr: '' });
      expect(r.stdout).toMatch(/^usage: bridgelab <command>/);
    }
    const none = await run([]);
    expect(none.code).toBe(2);
    expect(none.stdout).toBe('');
    expect(none.stderr).toMatch(/^bridgelab: usage: bridgelab <command>/);
    expect((await run(['frobnicate'])).stderr).toMatch(/unknown command 'frobnicate'/);
  });

  it('every command and sub-command prints its usage on stdout and exits 0 for --help and -h', async () => {
    const commands = [...(await run(['--help'])).stdout.matchAll(/^ {2}(\w+) /gm)].map((m) => m[1]!);
    expect(commands).toEqual(expect.arrayContaining(['certify', 'report', 'modem', 'euicc', 'bridge', 'lpa', 'smdp', 'characterize', 'decode', 'certs']));
    const invocations = [...commands.map((c) => [c]), ['smdp', 'order'], ['certs', 'list'], ['certs', 'verify'], ['certs', 'issue', 'tls'], ['report', 'compare'], ['report', 'merge'], ['lpa', 'chip', 'info']];
    for (const argv of invocations)
      for (const flag of ['--help', '-h']) {
        const r = await run([...argv, flag]);
        expect({ argv: [...argv, flag], code: r.code, stderr: r.stderr }).toEqual({ argv: [...argv, flag], code: 0, stderr: '' });
        expect(r.stdout, argv.join(' ')).toMatch(/usage/i);
      }
  });

  it('documents the reference bridge defects as the way to see a failing report', async () => {
    const r = await run(['bridge', '--help']);
    expect(r.stdout).toMatch(/--defect NAME +run a deliberately broken bridge \(repeatable\), to see a failing report/);
    for (const name of DEFECT_NAMES) expect(r.stdout).toContain(`  ${name} `);
    expect(r.stdout).toContain('--defect status-word-rewrite');
  });
});

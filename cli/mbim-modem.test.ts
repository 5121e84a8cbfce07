import { describe, expect, it } from 'vitest';
import { createEuicc } from '../sim/euicc/euicc.ts';
import { missingTools, runTool } from '../sim/wwan/testing/external-tool.ts';
import { mbimModemCommand } from './mbim-modem.ts';

describe('bridgelab mbim-modem', () => {
  it('usage errors name the problem', async () => {
    const deps = { createCard: () => createEuicc(), stdout: () => {}, stderr: () => {} };
    await expect(mbimModemCommand(['--pty', '--personality'], deps)).rejects.toThrow(/--personality needs a value/);
    await expect(mbimModemCommand(['--pty', '--personality', 'x.json'], deps)).rejects.toThrow(/x\.json: cannot read/);
  });

  it.skipIf(missingTools([{ program: 'mbimcli', pkg: 'libmbim-utils' }, { program: 'socat', pkg: 'socat' }]) !== null)('--pty prints the path mbimcli opens', async () => {
    const stop = new AbortController();
    let out = '';
    let printed: () => void = () => {};
    const ready = new Promise<void>((r) => (printed = r));
    const done = mbimModemCommand(['--pty', '--personality', 'sierra-em7590'], { createCard: () => createEuicc(), stdout: (t) => ((out += t), printed()), stderr: () => {}, signal: stop.signal });
    await ready;
    const r = await runTool('mbimcli', ['-d', out.trim(), '--ms-query-uicc-atr']);
    expect(r.stdout).toContain('Succesfully retrieved ATR info');
    stop.abort();
    expect(await done).toBe(0);
  });
});

// Every bundled personality answers its command table (exact response text: prefix,
// spacing, hex case, echo), then each engine knob one by one on the engine without UART
// pacing: the older quirks, the new ones (upper-case hex only, TERMINAL CAPABILITY gate,
// 6100 loop, spurious errors per command, USIM gate) and the post-enable lifecycle
// (proactive session, REFRESH -> card reset / ignore / re-enumeration, stale sessions,
// SIM-ready URCs, CFUN=0 dropping the serial device).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { listPersonalities } from './personality.ts';
import { type EngineRig, engineRig, personalityWith } from './testing/engine-harness.ts';
import { FakeCard, ISD_R_AID } from './testing/fake-card.ts';

const ok = (...lines: string[]): string => (lines.length ? `\r\n${lines.join('\r\n')}\r\n` : '') + '\r\nOK\r\n';
const ERROR = '\r\nERROR\r\n';
const cme = (text: string): string => `\r\n${text}\r\n`;
const SILENT = Symbol('silent');
type Row = [string, string | typeof SILENT];

const ICCID = '89000123456789012341';
const IMSI = '001010123456789';
const CCHO = `AT+CCHO="${ISD_R_AID}"`;
const STORE_DATA = '81e2910006bf3e035c015a'; // lpac's GetEID, lower case as lpac sends it
const SD_ECHO = '"BF3E035C015A9000"';

const TE_CAP = '80AA00000AA9088100820101830107'; // TERMINAL CAPABILITY as lpac issue 168 shows it
const HANDLE = '0000000053698a6a'; // the first Sierra handle for the baseline seed

const TABLE: Record<string, Row[]> = {
  'quectel-ec25j': [
    ['AT', ok()],
    ['ATI', ok('Quectel', 'EC25', 'Revision: EC25JFAR06A03M4G')],
    ['AT+CGMI', ok('Quectel')],
    ['AT+CGMM', ok('EC25')],
    ['AT+CGMR', ok('EC25JFAR06A03M4G')],
    ['AT+GSN', ok('866000000000011')],
    ['AT+QGMR', ok('EC25JFAR06A03M4G_01.001.01.001')],
    ['AT+CMEE?', ok('+CMEE: 0')],
    ['AT+CMEE=?', ok('+CMEE: (0-2)')],
    ['AT+CPIN?', ok('+CPIN: READY')],
    ['AT+CFUN=?', ok('+CFUN: (0,1,4),(0-1)')],
    ['AT+QCCID', ok(`+QCCID: ${ICCID}`)],
    ['AT+CCID', ok(`+CCID: ${ICCID}`)],
    ['AT+ICCID', ERROR],
    ['AT+CIMI', ok(IMSI)],
    ['AT+CCHO=?', ok()],
    ['AT+CGLA=?', ok()],
    [CCHO, ok('+CCHO: 1')],
    [`AT+CGLA=1,22,"${STORE_DATA}"`, ok(`+CGLA: 16,${SD_ECHO}`)],
    ['AT+CCHC=1', ok()],
    ['AT+CCHC=1', ERROR],
    ['AT+CSIM=10,"0070000001"', ok('+CSIM: 6,"019000"')],
    ['AT+CSIM=10,"81F2000000"', ERROR],
    ['AT+CSIM=10,"0070800100"', ok('+CSIM: 4,"9000"')],
    ['AT+CRSM=176,12258,0,0,10', ok('+CRSM: 144,0,"98001032547698103214"')],
    ['AT+CCHO', ERROR],
    ['AT+FOO', ERROR],
  ],
  'quectel-ec20f': [
    ['ATI', ok('Quectel', 'EC20F', 'Revision: EC20CEFAGR06A05M4G')],
    [CCHO, ok('+CCHO: 1')],
    [`AT+CGLA=1,22,"${STORE_DATA}"`, ok(`+CGLA: 16,${SD_ECHO}`)],
  ],
  'quectel-ec800g': [
    ['ATI', ok('Quectel', 'EC800G', 'Revision: EC800GCNLDR01A07M04')],
    ['AT+CSIM=10,"00C0000000"', ok('+CSIM: 4,"6100"')],
    ['AT+CSIM=10,"00C0000010"', ok('+CSIM: 4,"6985"')],
  ],
  'quectel-eg916q': [
    ['AT+CGMM', ok('EG916Q-GL')],
    ['AT+QGMR', ok('EG916QGLLGR01A03M04_01.001.01.001')],
    ['AT+CRSM=176,12258,0,0,10', ERROR],
    ['AT+CMEE=1', ok()],
    ['AT+CRSM=176,12258,0,0,10', cme('+CME ERROR: 3')],
    ['AT+QCCID', ok(`+QCCID: ${ICCID}`)],
    [CCHO, ok('+CCHO: 1')],
  ],
  'simcom-sim7600': [
    ['AT', ok()],
    ['ATI', ok('Manufacturer: SIMCOM INCORPORATED', 'Model: SIMCOM_SIM7600G-H', 'Revision: SIM7600M22_V2.0.1', 'IMEI: 862000000000027', '+GCAP: +CGSM')],
    ['AT+CGMM', ok('SIMCOM_SIM7600G-H')],
    ['AT+SIMCOMATI', ok('Manufacturer: SIMCOM INCORPORATED', 'Model: SIMCOM_SIM7600G-H', 'Revision: SIM7600M22_V2.0.1', 'IMEI: 862000000000027', '+GCAP: +CGSM')],
    ['AT+CMEE?', ok('+CMEE: 0')],
    ['AT+CCHO=?', ERROR],
    ['AT+CGLA=?', ERROR],
    ['AT+CCHC=?', ERROR],
    [CCHO, ERROR],
    [`AT+CGLA=1,22,"${STORE_DATA}"`, ERROR],
    ['AT+CCHC=1', ERROR],
    ['AT+CSIM=?', ok()],
    ['AT+CSIM=10,"0070000001"', ok('+CSIM: 6,"019000"')],
    [`AT+CSIM=42,"01A4040010${ISD_R_AID}"`, ok('+CSIM: 44,"6F128410A0000005591010FFFFFFFF89000001009000"')],
    [`AT+CSIM=22,"${STORE_DATA}"`, ok(`+CSIM: 16,${SD_ECHO}`)],
    ['AT+CICCID', ERROR],
  ],
  'simcom-sim7600-noesim': [
    ['AT+CGMM', ok('SIMCOM_SIM7600G-H')],
    [CCHO, ERROR],
    ['AT+CSIM=10,"0070000001"', ok('+CSIM: 6,"019000"')],
  ],
  'simcom-a7908e': [
    ['AT+CMEE?', ok('+CMEE:0')],
    [CCHO, ok('+CCHO:1')],
    [`AT+CGLA=1,22,"${STORE_DATA}"`, ok(`+CGLA:16,${SD_ECHO}`)],
    ['AT+CPIN?', ok('+CPIN:READY')],
  ],
  'simcom-a7670': [
    ['AT+CGMM', ok('A7670E-LNXY-UBL')],
    ['AT+SIMCOMATI', ok('Manufacturer: SIMCOM INCORPORATED', 'Model: A7670E-LNXY-UBL', 'Revision: 23110B01A7670M4A_CUS_UBIA_91530228', 'A7670M4_B01V01_230724', 'IMEI: 862770000000013')],
    [CCHO, ok('+CCHO: 1')],
  ],
  'fibocom-fm350': [
    ['AT', ok()],
    ['ATI', ok('Fibocom Wireless Inc.', 'FM350-GL', 'Revision: 81600.0000.00.29.22.40')],
    ['AT+CGMI', ok('Fibocom Wireless Inc.')],
    ['AT+CGMI?', ok('+CGMI: "Fibocom Wireless Inc."')],
    ['AT+CGMR?', ok('+CGMR: "81600.0000.00.29.22.40"')],
    ['AT+GTPKGVER?', ok('+GTPKGVER: "81600.0000.00.29.22.40_5000.0000.050.000.046_E41"')],
    ['AT+CCHO=?', ok()],
    ['AT+CCHC=?', ok()],
    ['AT+CGLA=?', ok()],
    ['AT+ICCID', ok(`+ICCID: ${ICCID}`)],
    [CCHO, ok('1')],
    [`AT+CGLA=1,22,"${STORE_DATA}"`, ok(`+CGLA: 16,${SD_ECHO}`)],
    ['AT+CCHC=1', ok()],
    ['AT+CCHC=1', ERROR],
    ['AT+CMEE=1', ok()],
    ['AT+CCHC=3', ERROR],
  ],
  'fibocom-fg132': [
    ['AT+CCHO=?', ERROR],
    ['AT+CCHC=?', ERROR],
    ['AT+CGLA=?', ERROR],
    ['AT+CSIM=?', ok()],
    [CCHO, ok('+CCHO: 1')],
    [`AT+CGLA=1,22,"${STORE_DATA}"`, ok(`+CGLA: 16,${SD_ECHO}`)],
    ['AT+CCHC=1', ok()],
  ],
  'sierra-em7590': [
    [
      'ATI',
      ok('Manufacturer: Sierra Wireless, Incorporated', 'Model: EM7590', 'Revision: SWI9X50C_01.14.03.00 b06bd3 jenkins 2020/03/26 14:11:30', 'IMEI: 353000000000059', 'IMEI SV: 10', 'FSN: 0000000000000000', '+GCAP: +CGSM'),
    ],
    ['AT+CCHO=?', ok()],
    ['AT+CGLA=?', ERROR],
    [CCHO, ok(`+CCHO: ${HANDLE}`)],
    [`AT+CGLA=${HANDLE},22,"80e2910006bf3e035c015a"`, ok(`+CGLA: 16,${SD_ECHO}`)],
    ['AT+CGLA=1,22,"80e2910006bf3e035c015a"', ERROR],
    [`AT+CCHC=${HANDLE.toUpperCase()}`, ok()],
    [`AT+CCHC=${HANDLE}`, ERROR],
  ],
  'sierra-mc7455': [
    ['AT+CGMM', ok('MC7455')],
    ['AT+CGLA=?', ok()],
    [CCHO, ok(`+CCHO: ${HANDLE}`)],
    [`AT+CGLA=${HANDLE},22,"80E2910006BF3E035C015A"`, ok(`+CGLA: 16,${SD_ECHO}`)],
  ],
  'dell-dw5821e': [
    ['AT+CGMM', ok('DW5821e')],
    [CCHO, ERROR],
    ['AT+CSIM=10,"0070000000"', ok('+CSIM: 6,"019000"')],
    ['AT+CSIM=10,"0070800100"', ok('+CSIM: 4,"9000"')],
  ],
  'telit-le910c1': [
    ['AT+CGMI', ok('Telit')],
    ['AT+CSIM=10,"0070000001"', ok('+CSIM: 6,"019000"')],
    [CCHO, ok('+CCHO: 2')],
  ],
  'nordic-nrf9151': [
    ['AT+CGMI', ok('Nordic Semiconductor ASA')],
    ['AT+CGMR', ok('mfw_nrf91x1_2.0.4')],
    ['AT%HWVERSION', ok('%HWVERSION: nRF9151 LACA A1A')],
    ['AT+CSIM=10,"0070000001"', ok('+CSIM: 6,"019000"')],
  ],
  seiko: [
    ['AT', ok()],
    ['ATI', ok('SEIKO SOLUTIONS INC.', 'SEIKO-LTE-BASELINE', 'Revision: 0.0.0-uncharacterized')],
    ['AT+CGMR', ok('0.0.0-uncharacterized')],
    ['AT+GSN', ok('990000000000031')],
    ['AT+CMEE?', ok('+CMEE: 0')],
    ['AT+CPIN?', ok('+CPIN: READY')],
    ['AT+CCID', ERROR],
    ['AT+CIMI', ok(IMSI)],
    ['AT+CCHO=?', ok()],
    [CCHO, ok('+CCHO: 1')],
    ['AT+CGLA=1,22,"80E2910006BF3E035C015A"', ok(`+CGLA: 16,${SD_ECHO}`)],
    ['AT+CCHC=1', ok()],
    ['AT+CSIM=10,"0070000001"', ok('+CSIM: 6,"019000"')],
    ['AT+CRSM=176,12258,0,0,10', ok('+CRSM: 144,0,"98001032547698103214"')],
    ['AT+FOO', ERROR],
  ],
  'synthetic-slow-fibocom-like': [
    [CCHO, ok('1')],
    ['AT+CGMI?', ok('+CGMI: "Fibocom Wireless Inc."')],
  ],
  'synthetic-upper-hex-only': [
    [CCHO, ok('+CCHO: 1')],
    [`AT+CGLA=1,22,"${STORE_DATA}"`, ERROR],
    [`AT+CGLA=1,22,"${STORE_DATA.toUpperCase()}"`, ok(`+CGLA: 16,${SD_ECHO}`)],
    ['AT+CSIM=10,"0070000001"', ok('+CSIM: 6,"029000"')],
  ],
  'synthetic-terminal-capability-gate': [
    [CCHO, ERROR],
    ['AT+CSIM=10,"0070000001"', ERROR],
    [`AT+CSIM=30,"${TE_CAP}"`, ok('+CSIM: 4,"9000"')],
    ['AT+CSIM=10,"0070000001"', ok('+CSIM: 6,"019000"')],
  ],
  'synthetic-lifecycle-stale': [
    [CCHO, ok('+CCHO: 1')],
    ['AT+CCHC=1', ok()],
  ],
};

describe('command table', () => {
  it('covers every bundled personality', () => {
    expect(Object.keys(TABLE).sort()).toEqual(listPersonalities());
  });

  for (const [name, rows] of Object.entries(TABLE)) {
    describe(name, () => {
      let rig: EngineRig;
      beforeAll(() => {
        rig = engineRig(name);
      });
      afterAll(() => rig.close());
      it.each(rows.map((r, i) => [i, r[0], r[1]] as const))('%i %s', async (_i, line, expected) => {
        if (expected === SILENT) {
          rig.at.write(line + '\r');
          expect(await rig.at.quiet(150)).toBe(line + '\r');
        } else {
          expect(await rig.cmd(line)).toBe(expected);
        }
      });
    });
  }
});

describe('V.250 line handling through the engine', () => {
  let rig: EngineRig;
  afterEach(() => rig.close());

  it('accepts lower case, spaces outside quotes, CR LF and concatenation', async () => {
    rig = engineRig('quectel-ec25j');
    expect(await rig.cmd('at+cgmi')).toBe(ok('Quectel'));
    expect(await rig.cmd('aT + cgMM')).toBe(ok('EC25'));
    expect(await rig.cmd('AT+CSIM = 10 , "0070000001"')).toBe(ok('+CSIM: 6,"019000"'));
    expect(await rig.cmd('AT+CGMI;+CGMM')).toBe(`\r\nQuectel\r\n\r\nEC25\r\n\r\nOK\r\n`);
    // CR LF: the LF is echoed but starts no command
    rig.at.write('AT+CGMI\r\n');
    expect(await rig.at.final()).toBe('AT+CGMI\r\n\r\nQuectel\r\n\r\nOK\r\n');
    expect(await rig.at.quiet(50)).toBe('');
  });

  it('answers ERROR to bad syntax and stops a concatenated line at the first error', async () => {
    rig = engineRig('quectel-ec25j');
    expect(await rig.cmd('AT+CSIM=10,"00700000')).toBe(ERROR);
    expect(await rig.cmd('AT+CSIM=10,"0070000001"x')).toBe(ERROR);
    expect(await rig.cmd('AT+')).toBe(ERROR);
    expect(await rig.cmd('AT+CGMI;+FOO;+CGMM')).toBe(`\r\nQuectel\r\n\r\nERROR\r\n`);
  });

  it('ignores lines without AT (V.250 5.2.1) and handles backspace editing', async () => {
    rig = engineRig('quectel-ec25j');
    rig.at.write('hello\r');
    expect(await rig.at.quiet(50)).toBe('hello\r');
    expect(await rig.cmd('AT+CGMX\bI')).toBe(ok('Quectel'));
  });

  it('answers ERROR to a line longer than limits.maxLineLength', async () => {
    rig = engineRig('seiko');
    const long = `AT+CSIM=2100,"${'00'.repeat(1050)}"`;
    expect(long.length).toBeGreaterThan(2048);
    expect(await rig.cmd(long)).toBe(ERROR);
    expect(await rig.cmd('AT')).toBe(ok());
  });

  it('limits.interCharTimeoutMs: a command line written in pieces more than 200 ms apart is discarded', async () => {
    rig = engineRig(personalityWith('seiko', { limits: { interCharTimeoutMs: 200 } }));
    await rig.cmd('ATE0');
    rig.at.write('AT+CG');
    await new Promise((r) => setTimeout(r, 260));
    rig.at.write('MI\r');
    expect(await rig.at.quiet(60)).toBe('');
    expect(rig.trace.some((e) => e.kind === 'note' && /inter|between characters/.test(e.text))).toBe(true);
    rig.at.write('AT+CG');
    await new Promise((r) => setTimeout(r, 20));
    rig.at.write('MI\r');
    expect(await rig.at.final()).toBe(ok('SEIKO SOLUTIONS INC.'));
  });
});

describe('echo', () => {
  let rig: EngineRig;
  afterEach(() => rig.close());

  it('echoes the command line when on (default) and not after ATE0', async () => {
    rig = engineRig('seiko');
    expect(await rig.at.command('AT')).toBe('AT\r\r\nOK\r\n');
    expect(await rig.at.command('ATE0')).toBe('ATE0\r\r\nOK\r\n');
    expect(await rig.at.command('AT')).toBe('\r\nOK\r\n');
    expect(await rig.at.command('ATE1')).toBe('\r\nOK\r\n');
    expect(await rig.at.command('AT')).toBe('AT\r\r\nOK\r\n');
    expect(await rig.at.command('ATE0;+CGMM')).toBe('ATE0;+CGMM\r\r\nSEIKO-LTE-BASELINE\r\n\r\nOK\r\n');
    expect(await rig.at.command('ATZ')).toBe('\r\nOK\r\n');
    expect(rig.engine.state().echo).toBe(true);
  });

  it('EC25: echo comes back after a restart despite ATE0, with the URCs in order', async () => {
    rig = engineRig('quectel-ec25j', {}, { timeScale: 0.01 });
    expect(await rig.at.command('ATE0')).toBe('ATE0\r\r\nOK\r\n');
    expect(await rig.at.command('AT+CFUN=1,1')).toBe('\r\nOK\r\n');
    rig.at.write('AT\r'); // the modem is deaf while it restarts
    const urcs = await rig.at.waitMatch(/\+QUSIM: 1\r\n/, 3000);
    expect(urcs).toBe('\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\n+QUSIM: 1\r\n');
    expect(await rig.at.command('AT')).toBe('AT\r\r\nOK\r\n');
    expect(rig.card.resets).toBe(1);
  });

  it('echoAfterRestart false keeps echo off after a restart', async () => {
    rig = engineRig(personalityWith('seiko', { echoDefault: false, echoAfterRestart: false }));
    expect(await rig.at.command('ATE1')).toBe('\r\nOK\r\n');
    expect(await rig.at.command('AT+CFUN=1,1')).toBe('AT+CFUN=1,1\r\r\nOK\r\n');
    await new Promise((r) => setTimeout(r, 20));
    expect(await rig.at.command('AT')).toBe('\r\nOK\r\n');
  });
});

describe('restart', () => {
  let rig: EngineRig;
  afterEach(() => rig.close());

  it('A7670 sends its burst of URCs after CFUN=1,1; seiko sends none', async () => {
    rig = engineRig('simcom-a7670', {}, { timeScale: 0.01 });
    await rig.cmd('AT+CFUN=1,1');
    expect(await rig.at.waitMatch(/PB DONE\r\n/, 3000)).toBe('\r\n*ATREADY: 1\r\n\r\n+CPIN: READY\r\n\r\nSMS DONE\r\n\r\nPB DONE\r\n');
    rig.close();
    rig = engineRig('seiko', {}, { timeScale: 0.01 });
    await rig.cmd('AT+CFUN=1,1');
    expect(await rig.at.quiet(80)).toBe('');
    expect(await rig.cmd('AT')).toBe(ok());
  });

  it('drops CCHO sessions and answers SIM busy until +CPIN: READY', async () => {
    rig = engineRig(
      personalityWith('quectel-ec25j', {
        cmeeDefault: 1,
        timing: { baud: 115200, perCommandLatencyMs: 0, commandLatencyMs: {}, restartMs: 50 },
        urcsAfterRestart: [
          { text: 'RDY', atMs: 0 },
          { text: '+CPIN: READY', atMs: 300 },
        ],
      }),
      {},
      { timeScale: 1 },
    );
    expect(await rig.cmd(CCHO)).toBe(ok('+CCHO: 1'));
    await rig.cmd('AT+CFUN=1,1');
    await rig.at.waitMatch(/RDY\r\n/, 2000);
    expect(await rig.cmd('AT+CPIN?')).toBe(cme('+CME ERROR: 14'));
    await rig.at.waitMatch(/\+CPIN: READY\r\n/, 2000);
    expect(await rig.cmd('AT+CPIN?')).toBe(ok('+CPIN: READY'));
    expect(await rig.cmd(`AT+CGLA=1,22,"${STORE_DATA}"`)).toBe(cme('+CME ERROR: 50'));
    expect(rig.engine.state().sessions).toEqual([]);
  });
});

describe('+CME ERROR verbosity', () => {
  let rig: EngineRig;
  afterEach(() => rig.close());

  it('bare ERROR, numeric and verbose forms follow +CMEE', async () => {
    rig = engineRig('seiko');
    await rig.engine.removeCard();
    expect(await rig.cmd('AT+CPIN?')).toBe(ERROR);
    await rig.cmd('AT+CMEE=1');
    expect(await rig.cmd('AT+CPIN?')).toBe(cme('+CME ERROR: 10'));
    await rig.cmd('AT+CMEE=2');
    expect(await rig.cmd('AT+CPIN?')).toBe(cme('+CME ERROR: SIM not inserted'));
    expect(await rig.cmd(CCHO)).toBe(cme('+CME ERROR: SIM not inserted'));
    expect(await rig.cmd('AT+CMEE=3')).toBe(cme('+CME ERROR: incorrect parameters'));
    expect(await rig.cmd('AT+CMEE?')).toBe(ok('+CMEE: 2'));
  });

  it('A7908E prints its verbose errors without a space after the colon', async () => {
    rig = engineRig('simcom-a7908e');
    await rig.engine.removeCard();
    await rig.cmd('AT+CMEE=2');
    expect(await rig.cmd('AT+CPIN?')).toBe(cme('+CME ERROR:SIM not inserted'));
  });
});

describe('card access', () => {
  let rig: EngineRig;
  afterEach(() => rig.close());

  it('+CRSM: READ BINARY, GET RESPONSE, READ RECORD, UPDATE BINARY, STATUS, missing file', async () => {
    rig = engineRig('quectel-ec25j', { t0: true });
    expect(await rig.cmd('AT+CRSM=176,12258,0,0,10')).toBe(ok('+CRSM: 144,0,"98001032547698103214"'));
    expect(await rig.cmd('AT+CRSM=192,12258')).toBe(ok('+CRSM: 144,0,"620F8202412183022FE28002000A8A0105"'));
    expect(await rig.cmd('AT+CRSM=176,28423,0,0,9')).toBe(ok('+CRSM: 144,0,"080910101032547698"'));
    expect(await rig.cmd('AT+CRSM=178,12032,1,4,32')).toBe(ok(`+CRSM: 144,0,"61184F10A0000000871002FFFFFFFF89070900005004${'5553494D'}${'FF'.repeat(6)}"`));
    expect(await rig.cmd('AT+CRSM=214,12258,0,0,2,"9811"')).toBe(ok('+CRSM: 144,0'));
    expect(await rig.cmd('AT+CCID')).toBe(ok('+CCID: 89110123456789012341'));
    expect(await rig.cmd('AT+CRSM=242')).toBe(ok('+CRSM: 144,0,"6F128410A0000000871002FFFFFFFF8907090000"'));
    expect(await rig.cmd('AT+CRSM=176,28569,0,0,1')).toBe(ok('+CRSM: 106,130'));
    expect(await rig.cmd('AT+CRSM=999,12258,0,0,10')).toBe(ERROR);
    expect(await rig.cmd('AT+CRSM=176,12258')).toBe(ERROR);
  });

  it('CIMI falls back to the personality USIM AID when EF.DIR is absent', async () => {
    rig = engineRig('seiko', { efDir: false, imsi: '44010123456789' });
    expect(await rig.cmd('AT+CIMI')).toBe(ok('44010123456789'));
    rig.close();
    rig = engineRig('seiko', { efDir: false, usimAid: 'A0000000871002FF44FF1289000000FF' });
    await rig.cmd('AT+CMEE=1');
    expect(await rig.cmd('AT+CIMI')).toBe(cme('+CME ERROR: 13'));
  });

  it('CFUN=0 powers the SIM down, CFUN=1 resets the card', async () => {
    rig = engineRig('quectel-ec25j');
    await rig.cmd('AT+CMEE=1');
    expect(await rig.cmd(CCHO)).toBe(ok('+CCHO: 1'));
    expect(await rig.cmd('AT+CFUN=0')).toBe(ok());
    expect(await rig.cmd('AT+CPIN?')).toBe(cme('+CME ERROR: 13'));
    expect(await rig.cmd('AT+CFUN?')).toBe(ok('+CFUN: 0'));
    expect(await rig.cmd('AT+CFUN=1')).toBe(ok());
    expect(await rig.cmd('AT+CPIN?')).toBe(ok('+CPIN: READY'));
    expect(rig.card.resets).toBe(1);
    expect(await rig.cmd(`AT+CGLA=1,22,"${STORE_DATA}"`)).toBe(cme('+CME ERROR: 50'));
    expect(await rig.cmd('AT+CFUN=7')).toBe(cme('+CME ERROR: 50'));
  });

  it('+CSIM/+CGLA length rules: len counts hex characters; mismatch, odd, too long -> error', async () => {
    rig = engineRig('quectel-ec25j');
    expect(await rig.cmd('AT+CSIM=8,"0070000001"')).toBe(ERROR);
    expect(await rig.cmd('AT+CSIM=9,"007000000"')).toBe(ERROR);
    expect(await rig.cmd('AT+CSIM=10,"00700000ZZ"')).toBe(ERROR);
    expect(await rig.cmd(`AT+CSIM=524,"${'00'.repeat(262)}"`)).toBe(ERROR);
    expect(await rig.cmd('AT+CSIM=10')).toBe(ERROR);
    await rig.cmd(CCHO);
    expect(await rig.cmd('AT+CGLA=1,12,"81E2910000"')).toBe(ERROR);
    rig.close();
    rig = engineRig('seiko');
    await rig.cmd('AT+CMEE=1');
    expect(await rig.cmd('AT+CSIM=8,"0070000001"')).toBe(cme('+CME ERROR: 50'));
  });
});

describe('logical channels', () => {
  let rig: EngineRig;
  afterEach(() => rig.close());

  it('27.007 8.45: a modem that manages CLA puts the channel in; a pass-through one does not', async () => {
    rig = engineRig('quectel-ec25j');
    await rig.cmd(CCHO);
    expect(await rig.cmd('AT+CGLA=1,22,"80E2910006BF3E035C015A"')).toBe(ok(`+CGLA: 16,${SD_ECHO}`));
    expect(rig.card.apdus.at(-1)?.[0]).toBe(0x81);
    rig.close();
    rig = engineRig(personalityWith('seiko', { cglaSetsChannelInCla: false }));
    await rig.cmd(CCHO);
    expect(await rig.cmd('AT+CGLA=1,22,"80E2910006BF3E035C015A"')).toBe(ok('+CGLA: 4,"6985"'));
    expect(rig.card.apdus.at(-1)?.[0]).toBe(0x80);
    expect(await rig.cmd(`AT+CGLA=1,22,"${STORE_DATA}"`)).toBe(ok(`+CGLA: 16,${SD_ECHO}`));
  });

  it('Sierra: the opaque handle maps to the channel; channel bits the TE set are replaced', async () => {
    rig = engineRig('sierra-em7590', { maxChannels: 3 });
    await rig.card.transmit(Uint8Array.of(0x00, 0x70, 0x00, 0x00, 0x01)); // someone else holds channel 1
    const first = await rig.cmd(CCHO);
    const handle = /\+CCHO: ([0-9a-f]{16})\r\n/.exec(first)?.[1] as string;
    expect(handle).toMatch(/^00000000[0-9a-f]{8}$/);
    expect(rig.engine.state().sessions).toEqual([{ id: handle, channel: 2 }]);
    expect(await rig.cmd(`AT+CGLA=${handle},22,"80E2910006BF3E035C015A"`)).toBe(ok(`+CGLA: 16,${SD_ECHO}`));
    expect(rig.card.apdus.at(-1)?.[0]).toBe(0x82);
    // lpac before PR 139 sent 0x80 | (handle & 0x0F) = 0x8F: the channel bits are replaced,
    // the secure-messaging bits b4-b3 it also set are not (0x8E), which only some eUICCs ignore
    expect(await rig.cmd(`AT+CGLA=${handle},22,"8FE2910006BF3E035C015A"`)).toBe(ok(`+CGLA: 16,${SD_ECHO}`));
    expect(rig.card.apdus.at(-1)?.[0]).toBe(0x8e);
  });

  it('Fibocom: bare-number CCHO works with CGLA', async () => {
    rig = engineRig('fibocom-fm350');
    expect(await rig.cmd(CCHO)).toBe('\r\n1\r\n\r\nOK\r\n');
    expect(await rig.cmd(`AT+CGLA=1,22,"${STORE_DATA}"`)).toBe(ok(`+CGLA: 16,${SD_ECHO}`));
  });

  it('limits.maxChannels: the fourth CCHO fails with noFreeChannel', async () => {
    rig = engineRig('quectel-ec25j', { maxChannels: 4 });
    await rig.cmd('AT+CMEE=1');
    for (const n of [1, 2, 3]) expect(await rig.cmd(CCHO)).toBe(ok(`+CCHO: ${n}`));
    expect(await rig.cmd(CCHO)).toBe(cme('+CME ERROR: 20'));
    expect(rig.card.openChannels()).toEqual([0, 1, 2, 3]);
  });

  it('CCHO on a card that is not an eUICC gives +CME ERROR: 13; with cchoRetryMinIntervalMs a retry within 250 ms gives 14', async () => {
    rig = engineRig(personalityWith('quectel-ec25j', { cmeeDefault: 1, cchoRetryMinIntervalMs: 250 }), { euicc: false });
    expect(await rig.cmd(CCHO)).toBe(cme('+CME ERROR: 13'));
    expect(rig.card.openChannels()).toEqual([0]);
    rig.card.options.euicc = true;
    expect(await rig.cmd(CCHO)).toBe(cme('+CME ERROR: 14'));
    await new Promise((r) => setTimeout(r, 270));
    expect(await rig.cmd(CCHO)).toBe(ok('+CCHO: 1'));
  });

  it('EC25: STATUS through +CSIM on a logical channel fails; on the baseline it works', async () => {
    rig = engineRig('quectel-ec25j');
    await rig.cmd(CCHO);
    expect(await rig.cmd('AT+CSIM=10,"81F2000000"')).toBe(ERROR);
    expect(await rig.cmd('AT+CSIM=10,"80F2000000"')).toBe(ok(await expectedStatusMf()));
    rig.close();
    rig = engineRig('seiko');
    await rig.cmd(CCHO);
    expect(await rig.cmd('AT+CSIM=10,"81F2000000"')).toBe(ok('+CSIM: 44,"6F128410A0000005591010FFFFFFFF89000001009000"'));
  });
});

/** STATUS on the basic channel (MF current): the fake card's FCP of the MF. */
async function expectedStatusMf(): Promise<string> {
  const card = new FakeCard();
  const r = await card.transmit(Uint8Array.of(0x80, 0xf2, 0x00, 0x00, 0x00));
  return `+CSIM: ${r.length * 2},"${Buffer.from(r).toString('hex').toUpperCase()}"`;
}

describe('GET RESPONSE: modem vs passthrough (T=0 card)', () => {
  let rig: EngineRig;
  afterEach(() => rig.close());

  it('passthrough (EC25): 61xx reaches the TE, which sends GET RESPONSE itself', async () => {
    rig = engineRig('quectel-ec25j', { t0: true });
    await rig.cmd(CCHO);
    expect(await rig.cmd(`AT+CGLA=1,22,"${STORE_DATA}"`)).toBe(ok('+CGLA: 4,"6106"'));
    expect(await rig.cmd('AT+CGLA=1,10,"81C0000006"')).toBe(ok(`+CGLA: 16,${SD_ECHO}`));
    expect(await rig.cmd(`AT+CSIM=42,"00A4040010${ISD_R_AID}"`)).toBe(ok('+CSIM: 4,"6114"'));
  });

  it("getResponse 'modem': the modem fetches the data, the TE gets data + 9000", async () => {
    rig = engineRig(personalityWith('sierra-em7590', { getResponse: 'modem' }), { t0: true });
    const handle = /\+CCHO: (\w+)/.exec(await rig.cmd(CCHO))?.[1] as string;
    expect(await rig.cmd(`AT+CGLA=${handle},22,"${STORE_DATA}"`)).toBe(ok(`+CGLA: 16,${SD_ECHO}`));
    expect(rig.card.apdus.at(-1)).toEqual(Uint8Array.of(0x01, 0xc0, 0x00, 0x00, 0x06));
  });

  it('modem mode follows a chain of 61xx for a response over 256 bytes', async () => {
    const big = Uint8Array.from({ length: 600 }, (_, i) => i & 0xff);
    rig = engineRig(personalityWith('sierra-em7590', { getResponse: 'modem' }), { t0: true, storeDataResponse: () => big });
    const handle = /\+CCHO: (\w+)/.exec(await rig.cmd(CCHO))?.[1] as string;
    const r = await rig.cmd(`AT+CGLA=${handle},22,"${STORE_DATA}"`);
    expect(r).toBe(ok(`+CGLA: 1204,"${Buffer.from(big).toString('hex').toUpperCase()}9000"`));
  });
});

describe('spurious ERROR mid-BPP (EC25)', () => {
  let rig: EngineRig;
  afterEach(() => rig.close());

  it('a STORE DATA answered ERROR never reached the card and succeeds on retry', async () => {
    rig = engineRig('quectel-ec25j');
    await rig.cmd(CCHO);
    rig.engine.setSpuriousErrorRate(1);
    const before = rig.card.apdus.length;
    expect(await rig.cmd(`AT+CGLA=1,22,"${STORE_DATA}"`)).toBe(ERROR);
    expect(rig.card.apdus.length).toBe(before);
    expect(await rig.cmd(`AT+CGLA=1,22,"${STORE_DATA}"`)).toBe(ok(`+CGLA: 16,${SD_ECHO}`));
    expect(await rig.cmd('AT+CGLA=1,10,"81F2000000"')).not.toBe(ERROR); // not a STORE DATA
  });

  it("scope 'bpp' (EC25's default): only STORE DATA inside a LoadBoundProfilePackage", async () => {
    rig = engineRig('quectel-ec25j');
    expect(rig.personality.spuriousErrors.scope).toBe('bpp');
    await rig.cmd(CCHO);
    rig.engine.setSpuriousErrorRate(1, 'bpp');
    expect(await rig.cmd(`AT+CGLA=1,22,"${STORE_DATA}"`)).toBe(ok(`+CGLA: 16,${SD_ECHO}`)); // GetEID: not a BPP
    const bf36 = '81E2110006BF3681FF0000'; // block 0 of the BF36 sequence (ISCR follows)
    expect(await rig.cmd(`AT+CGLA=1,22,"${bf36}"`)).toBe(ERROR);
    expect(await rig.cmd(`AT+CGLA=1,22,"${bf36}"`)).toMatch(/^\r\n\+CGLA: /);
    expect(await rig.cmd('AT+CGLA=1,18,"81E2910004A0020000"')).toBe(ERROR); // the A0 sequence: still mid-BPP
    expect(await rig.cmd('AT+CGLA=1,18,"81E2910004A0020000"')).toMatch(/^\r\n\+CGLA: /);
    expect(await rig.cmd(`AT+CGLA=1,22,"${STORE_DATA}"`)).toBe(ok(`+CGLA: 16,${SD_ECHO}`)); // a new ES10 command ends it
    expect(await rig.cmd('AT+CGLA=1,18,"81E2910004A0020000"')).toMatch(/^\r\n\+CGLA: /);
  });

  it('is deterministic for a seed and never fails twice in a row', async () => {
    const run = async (seed: number): Promise<string> => {
      const r = engineRig(personalityWith('quectel-ec25j', { spuriousErrors: { rate: 0.4, scope: 'storeData', seed, error: 'ERROR' } }));
      await r.cmd(CCHO);
      let pattern = '';
      for (let i = 0; i < 30; i++) pattern += (await r.cmd(`AT+CGLA=1,22,"${STORE_DATA}"`)) === ERROR ? 'E' : '.';
      r.close();
      return pattern;
    };
    const a = await run(7);
    expect(await run(7)).toBe(a);
    expect(a).toContain('E');
    expect(a).not.toContain('EE');
    expect(await run(8)).not.toBe(a);
    rig = engineRig('seiko');
  });
});

describe('faults at engine level', () => {
  let rig: EngineRig;
  afterEach(() => rig.close());

  it('URC injected in the middle of a response line', async () => {
    rig = engineRig('quectel-ec25j');
    rig.engine.injectUrcInNextResponse('+QIND: SMS DONE');
    expect(await rig.cmd('AT+CGMI')).toBe('\r\nQue\r\n+QIND: SMS DONE\r\nctel\r\n\r\nOK\r\n');
    expect(await rig.cmd('AT+CGMI')).toBe(ok('Quectel'));
  });

  it('response delay', async () => {
    rig = engineRig('seiko');
    rig.engine.setResponseDelay(150, 1);
    const t0 = performance.now();
    await rig.cmd('AT');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    const t1 = performance.now();
    await rig.cmd('AT');
    expect(performance.now() - t1).toBeLessThan(140);
  });

  it('card removal and insertion', async () => {
    rig = engineRig('quectel-ec25j');
    await rig.cmd('AT+CMEE=1');
    await rig.cmd(CCHO);
    await rig.engine.removeCard();
    expect(await rig.cmd('AT+CPIN?')).toBe(cme('+CME ERROR: 10'));
    expect(await rig.cmd('AT+QCCID')).toBe(cme('+CME ERROR: 10'));
    await rig.engine.insertCard();
    expect(rig.card.resets).toBe(1);
    expect(await rig.cmd('AT+CPIN?')).toBe(ok('+CPIN: READY'));
    expect(await rig.cmd(`AT+CGLA=1,22,"${STORE_DATA}"`)).toBe(cme('+CME ERROR: 50'));
  });
});

describe('knobs of the sourced quirks', () => {
  let rig: EngineRig;
  afterEach(() => rig.close());
  const openIsdR = async (r: EngineRig): Promise<void> => {
    expect(await r.cmd('AT+CSIM=10,"0070000001"')).toBe(ok('+CSIM: 6,"019000"'));
    expect(await r.cmd(`AT+CSIM=42,"01A4040010${ISD_R_AID}"`)).toMatch(/^\r\n\+CSIM: 4,"61/);
  };

  it("getResponseLe00 'loop6100' (EC800G): GET RESPONSE P3=00 answers 6100 without reaching the card; P3=FF reaches it", async () => {
    const big = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff);
    rig = engineRig('quectel-ec800g', { t0: true, storeDataResponse: () => big });
    await openIsdR(rig);
    await rig.cmd('AT+CSIM=10,"01C0000014"');
    expect(await rig.cmd(`AT+CSIM=22,"${STORE_DATA}"`)).toBe(ok('+CSIM: 4,"6100"'));
    const before = rig.card.apdus.length;
    for (let i = 0; i < 3; i++) expect(await rig.cmd('AT+CSIM=10,"01C0000000"')).toBe(ok('+CSIM: 4,"6100"'));
    expect(rig.card.apdus.length).toBe(before);
    // +CGLA is not affected (the log shows +CSIM only)
    expect(await rig.cmd(CCHO)).toBe(ok('+CCHO: 2'));
    expect(await rig.cmd('AT+CGLA=2,10,"02C0000000"')).toBe(ok('+CGLA: 4,"6985"'));
    const r = await rig.cmd('AT+CSIM=10,"01C00000FF"');
    expect(r).toBe(ok(`+CSIM: 514,"${Buffer.from(big.subarray(0, 255)).toString('hex').toUpperCase()}612D"`));
    // the baseline passes P3=00 to the card
    rig.close();
    rig = engineRig('seiko', { t0: true, storeDataResponse: () => big });
    await openIsdR(rig);
    await rig.cmd('AT+CSIM=10,"01C0000014"');
    expect(await rig.cmd(`AT+CSIM=22,"${STORE_DATA}"`)).toBe(ok('+CSIM: 4,"6100"'));
    expect(await rig.cmd('AT+CSIM=10,"01C0000000"')).toMatch(/^\r\n\+CSIM: 516,"[0-9A-F]{512}612C"\r\n/);
  });

  it("spuriousErrors.commands ['cgla'] (EC20F): +CGLA fails mid-BPP, the same APDU through +CSIM goes through", async () => {
    rig = engineRig(personalityWith('quectel-ec20f', { spuriousErrors: { rate: 1, scope: 'storeData', seed: 1, error: 'ERROR', commands: ['cgla'] } }));
    expect(await rig.cmd(CCHO)).toBe(ok('+CCHO: 1'));
    const before = rig.card.apdus.length;
    expect(await rig.cmd(`AT+CGLA=1,22,"${STORE_DATA}"`)).toBe(ERROR);
    expect(rig.card.apdus.length).toBe(before);
    expect(await rig.cmd(`AT+CSIM=22,"${STORE_DATA}"`)).toBe(ok(`+CSIM: 16,${SD_ECHO}`));
    expect(await rig.cmd(`AT+CSIM=22,"${STORE_DATA}"`)).toBe(ok(`+CSIM: 16,${SD_ECHO}`));
  });

  it("format.hexInput 'upper': lower-case hex in +CSIM/+CGLA is refused with badParameters, without reaching the card", async () => {
    rig = engineRig(personalityWith('seiko', { format: { hexInput: 'upper' }, cmeeDefault: 1 }));
    const before = rig.card.apdus.length;
    expect(await rig.cmd('AT+CSIM=10,"00a4000000"')).toBe(cme('+CME ERROR: 50'));
    expect(rig.card.apdus.length).toBe(before);
    expect(await rig.cmd('AT+CSIM=10,"0070000001"')).toBe(ok('+CSIM: 6,"019000"'));
    expect(rig.trace.some((e) => e.kind === 'note' && e.text === 'lower-case hex refused (personality: upper case only)')).toBe(true);
  });

  it('csimNeedsTerminalCapability: +CSIM refused until TERMINAL CAPABILITY went through; a card reset closes the gate again', async () => {
    rig = engineRig(personalityWith('seiko', { csimNeedsTerminalCapability: true, cmeeDefault: 1 }));
    expect(await rig.cmd('AT+CSIM=10,"0070000001"')).toBe(cme('+CME ERROR: 3'));
    expect(rig.card.apdus).toEqual([]);
    expect(await rig.cmd(`AT+CSIM=30,"${TE_CAP}"`)).toBe(ok('+CSIM: 4,"9000"'));
    expect(rig.card.terminalCapabilities.map((d) => Buffer.from(d).toString('hex').toUpperCase())).toEqual(['A9088100820101830107']);
    expect(rig.engine.state().terminalCapabilitySent).toBe(true);
    expect(await rig.cmd('AT+CSIM=10,"0070000001"')).toBe(ok('+CSIM: 6,"019000"'));
    await rig.cmd('AT+CFUN=0');
    await rig.cmd('AT+CFUN=1');
    expect(rig.engine.state().terminalCapabilitySent).toBe(false);
    expect(await rig.cmd('AT+CSIM=10,"0070000001"')).toBe(cme('+CME ERROR: 3'));
  });

  it('simRequiresUsim (nRF9151): a card without USIM (no enabled profile) makes every SIM command fail with +CME ERROR: 13', async () => {
    rig = engineRig('nordic-nrf9151', { usim: false });
    expect(await rig.cmd('AT+CSIM=10,"0070000001"')).toBe(ERROR);
    await rig.cmd('AT+CMEE=1');
    expect(await rig.cmd('AT+CSIM=10,"0070000001"')).toBe(cme('+CME ERROR: 13'));
    expect(await rig.cmd(CCHO)).toBe(cme('+CME ERROR: 13'));
    expect(await rig.cmd('AT+CIMI')).toBe(cme('+CME ERROR: 13'));
    // the USIM is probed once per card reset, not per command
    const selects = rig.card.apdus.filter((a) => a[1] === 0xa4 && a[2] === 0x04).length;
    expect(selects).toBe(1);
    expect(rig.card.openChannels()).toEqual([0]);
    // a card with a USIM works; a baseline modem does not care
    rig.close();
    rig = engineRig('nordic-nrf9151');
    expect(await rig.cmd('AT+CSIM=10,"0070000001"')).toBe(ok('+CSIM: 6,"019000"'));
    rig.close();
    rig = engineRig('telit-le910c1', { usim: false });
    expect(await rig.cmd('AT+CSIM=10,"0070000001"')).toBe(ok('+CSIM: 6,"019000"'));
  });
});

/** REFRESH (TS 102 223 6.6.13) with qualifier 09 eUICC Profile State Change. */
const REFRESH = Uint8Array.of(0xd0, 0x09, 0x81, 0x03, 0x01, 0x01, 0x09, 0x82, 0x02, 0x81, 0x82);
const TERMINAL_RESPONSE_OK = '810301010982028281830100';

describe('post-enable lifecycle (proactive REFRESH)', () => {
  let rig: EngineRig;
  afterEach(() => rig.close());
  const until = async (cond: () => boolean, ms = 2000): Promise<void> => {
    const t0 = performance.now();
    while (!cond()) {
      if (performance.now() - t0 > ms) throw new Error('condition not met in time');
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const lifecycleRig = (lifecycle: Record<string, unknown>, extra: Record<string, unknown> = {}, timeScale = 1): EngineRig =>
    engineRig(personalityWith('seiko', { cmeeDefault: 1, lifecycle, ...extra }), {}, { timeScale });

  it("onRefresh 'reset' after refreshDelayMs: the TE sees 91xx, the MT fetches and answers the REFRESH, resets the card, drops the sessions, is SIM-busy until +CPIN: READY", async () => {
    rig = lifecycleRig({ onRefresh: 'reset', refreshDelayMs: 120, urcsAfterCardReset: [{ text: '+CPIN: READY', atMs: 60 }] });
    expect(await rig.cmd(CCHO)).toBe(ok('+CCHO: 1'));
    rig.card.raiseProactive(REFRESH);
    const t0 = performance.now();
    expect(await rig.cmd(`AT+CGLA=1,22,"${STORE_DATA}"`)).toBe(ok('+CGLA: 16,"BF3E035C015A910B"'));
    await until(() => rig.card.terminalResponses.length === 1);
    expect(rig.card.apdus.find((a) => a[1] === 0x12)).toEqual(Uint8Array.of(0x80, 0x12, 0x00, 0x00, 0x0b));
    expect(Buffer.from(rig.card.terminalResponses[0] as Uint8Array).toString('hex')).toBe(TERMINAL_RESPONSE_OK);
    expect(rig.card.resets).toBe(0);
    await until(() => rig.card.resets === 1);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(110);
    expect(rig.engine.state()).toMatchObject({ refreshes: 1, sessions: [], simReady: false });
    expect(await rig.cmd('AT+CPIN?')).toBe(cme('+CME ERROR: 14'));
    expect(await rig.at.waitMatch(/\+CPIN: READY\r\n/, 2000)).toBe('\r\n+CPIN: READY\r\n');
    expect(await rig.cmd(`AT+CGLA=1,22,"${STORE_DATA}"`)).toBe(cme('+CME ERROR: 50'));
    expect(await rig.cmd(CCHO)).toBe(ok('+CCHO: 1'));
  });

  it("sessionsAfterCardReset 'stale': the MT keeps the handle, the card closed the channel (6881 reaches the TE)", async () => {
    rig = lifecycleRig({ onRefresh: 'reset', sessionsAfterCardReset: 'stale' }, {}, 0);
    await rig.cmd(CCHO);
    rig.card.raiseProactive(REFRESH);
    await rig.cmd(`AT+CGLA=1,22,"${STORE_DATA}"`);
    await until(() => rig.card.resets === 1);
    expect(rig.engine.state().sessions).toEqual([{ id: '1', channel: 1 }]);
    expect(await rig.cmd(`AT+CGLA=1,22,"${STORE_DATA}"`)).toBe(ok('+CGLA: 4,"6881"'));
    expect(rig.card.openChannels()).toEqual([0]);
  });

  it("onRefresh 'ignore' (EG916Q): no card reset until the TE power-cycles the UIM with AT+CFUN=0 / AT+CFUN=1", async () => {
    rig = engineRig(personalityWith('quectel-eg916q', { lifecycle: { onRefresh: 'ignore' } }), {}, { timeScale: 0 });
    await rig.cmd(CCHO);
    rig.card.raiseProactive(REFRESH);
    await rig.cmd(`AT+CGLA=1,22,"${STORE_DATA}"`);
    await until(() => rig.card.terminalResponses.length === 1);
    await new Promise((r) => setTimeout(r, 30));
    expect(rig.card.resets).toBe(0);
    expect(rig.engine.state().refreshes).toBe(1);
    await rig.cmd('AT+CFUN=0');
    await rig.cmd('AT+CFUN=1');
    expect(rig.card.resets).toBe(1);
  });

  it("proactive 'te': the MT only relays 91xx; the TE can FETCH through +CSIM", async () => {
    rig = lifecycleRig({ proactive: 'te' }, {}, 0);
    await rig.cmd(CCHO);
    rig.card.raiseProactive(REFRESH);
    expect(await rig.cmd(`AT+CGLA=1,22,"${STORE_DATA}"`)).toBe(ok('+CGLA: 16,"BF3E035C015A910B"'));
    await new Promise((r) => setTimeout(r, 30));
    expect(rig.card.apdus.some((a) => a[1] === 0x12)).toBe(false);
    expect(await rig.cmd('AT+CSIM=10,"801200000B"')).toBe(ok('+CSIM: 26,"D0098103010109820281829000"'));
    expect(rig.engine.state().refreshes).toBe(0);
  });

  it("onRefresh 'reenumerate' (EC25): the device vanishes for reenumerateGoneMs while the modem restarts; URCs after it is back", async () => {
    rig = engineRig('quectel-ec25j', {}, { timeScale: 0.01 });
    const vanished: number[] = [];
    rig.engine.setDeviceControl({
      vanish: async (ms) => {
        vanished.push(ms);
        expect(rig.engine.state().deviceGone).toBe(true);
        await new Promise((r) => setTimeout(r, ms));
      },
    });
    await rig.cmd(CCHO);
    rig.card.raiseProactive(REFRESH);
    await rig.cmd(`AT+CGLA=1,22,"${STORE_DATA}"`);
    expect(await rig.at.waitMatch(/\+QUSIM: 1\r\n/, 3000)).toBe('\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\n+QUSIM: 1\r\n');
    expect(vanished).toEqual([20]); // 2000 ms at timeScale 0.01
    expect(rig.engine.state()).toMatchObject({ deviceGone: false, sessions: [], restarting: false });
    expect(rig.card.resets).toBe(1);
  });

  it('an endpoint that cannot remove the device: the re-enumeration is a restart, and a trace note says so', async () => {
    rig = engineRig('quectel-ec25j', {}, { timeScale: 0 });
    await rig.cmd(CCHO);
    rig.card.raiseProactive(REFRESH);
    await rig.cmd(`AT+CGLA=1,22,"${STORE_DATA}"`);
    await rig.at.waitMatch(/\+QUSIM: 1\r\n/, 3000);
    expect(rig.trace.some((e) => e.kind === 'note' && /^device would vanish for 0 ms \(REFRESH: re-enumeration\), but this endpoint cannot remove it$/.test(e.text))).toBe(true);
  });

  it('serialDropsOnCfun0 (EG916Q): AT+CFUN=0 answers OK, then the device vanishes for reenumerateGoneMs; the modem keeps running', async () => {
    rig = engineRig('quectel-eg916q', {}, { timeScale: 1 });
    const vanished: number[] = [];
    rig.engine.setDeviceControl({ vanish: async (ms) => void vanished.push(ms) });
    expect(await rig.cmd('AT+CFUN=0')).toBe(ok());
    await until(() => vanished.length === 1);
    expect(vanished).toEqual([500]);
    expect(await rig.cmd('AT+CFUN=1')).toBe(ok());
    expect(rig.card.resets).toBe(1);
    rig.close();
    rig = engineRig('seiko');
    rig.engine.setDeviceControl({ vanish: async (ms) => void vanished.push(ms) });
    await rig.cmd('AT+CFUN=0');
    await new Promise((r) => setTimeout(r, 20));
    expect(vanished).toEqual([500]);
  });
});

import { describe, expect, it } from 'vitest';
import { argInt, findAtPrefix, parseCommandLine, type ParseResult } from './at-parser.ts';

function cmds(body: string): unknown {
  const r = parseCommandLine(body);
  if (!r.ok) throw new Error(`unexpected parse error: ${r.error}`);
  return r.commands;
}

function error(body: string): Extract<ParseResult, { ok: false }> {
  const r = parseCommandLine(body);
  if (r.ok) throw new Error(`expected a parse error for ${JSON.stringify(body)}`);
  return r;
}

describe('findAtPrefix', () => {
  it('finds AT in any case and skips leading garbage', () => {
    expect(findAtPrefix('AT')).toBe(2);
    expect(findAtPrefix('at+cgmi')).toBe(2);
    expect(findAtPrefix('aT')).toBe(2);
    expect(findAtPrefix('xxAt+CCID')).toBe(4);
    expect(findAtPrefix('+CGMI')).toBe(-1);
    expect(findAtPrefix('')).toBe(-1);
  });
});

describe('parseCommandLine', () => {
  it('empty body (plain AT) has no commands', () => {
    expect(cmds('')).toEqual([]);
    expect(cmds('   ')).toEqual([]);
  });

  it('extended command forms: exec, read, test, set', () => {
    expect(cmds('+CGMI')).toEqual([{ name: '+CGMI', kind: 'exec', args: [] }]);
    expect(cmds('+CPIN?')).toEqual([{ name: '+CPIN', kind: 'read', args: [] }]);
    expect(cmds('+CCHO=?')).toEqual([{ name: '+CCHO', kind: 'test', args: [] }]);
    expect(cmds('+CMEE=2')).toEqual([{ name: '+CMEE', kind: 'set', args: [{ kind: 'token', text: '2' }] }]);
    expect(cmds('!ICCID?')).toEqual([{ name: '!ICCID', kind: 'read', args: [] }]);
  });

  it('quoted strings keep case, commas and semicolons; tokens are upper-cased', () => {
    expect(cmds('+cgla=1,22,"81e2910006bf3e035c015a"')).toEqual([
      {
        name: '+CGLA',
        kind: 'set',
        args: [
          { kind: 'token', text: '1' },
          { kind: 'token', text: '22' },
          { kind: 'string', text: '81e2910006bf3e035c015a' },
        ],
      },
    ]);
    expect(cmds('+X="a,b;c"')).toEqual([{ name: '+X', kind: 'set', args: [{ kind: 'string', text: 'a,b;c' }] }]);
    expect(cmds('+CGLA=00000000038aa32f,4,"0000"')).toMatchObject([{ args: [{ kind: 'token', text: '00000000038AA32F' }, {}, {}] }]);
  });

  it('spaces outside quotes are ignored, inside they are kept', () => {
    expect(cmds(' + CSIM = 10 , "00 70"')).toEqual([
      {
        name: '+CSIM',
        kind: 'set',
        args: [
          { kind: 'token', text: '10' },
          { kind: 'string', text: '00 70' },
        ],
      },
    ]);
  });

  it('omitted parameters and \\HH escapes', () => {
    expect(cmds('+CRSM=242,,,')).toMatchObject([{ args: [{ kind: 'token', text: '242' }, { kind: 'empty' }, { kind: 'empty' }, { kind: 'empty' }] }]);
    expect(cmds('+X="\\22q\\5C"')).toMatchObject([{ args: [{ kind: 'string', text: '"q\\' }] }]);
  });

  it('basic commands with and without numbers, concatenated with or without ;', () => {
    expect(cmds('E0V1')).toEqual([
      { name: 'E', kind: 'exec', args: [], value: 0 },
      { name: 'V', kind: 'exec', args: [], value: 1 },
    ]);
    expect(cmds('E0;+CMEE=2;+CMEE?')).toEqual([
      { name: 'E', kind: 'exec', args: [], value: 0 },
      { name: '+CMEE', kind: 'set', args: [{ kind: 'token', text: '2' }] },
      { name: '+CMEE', kind: 'read', args: [] },
    ]);
    expect(cmds('I')).toEqual([{ name: 'I', kind: 'exec', args: [] }]);
    expect(cmds('&F')).toEqual([{ name: '&F', kind: 'exec', args: [] }]);
    expect(cmds('S0?')).toEqual([{ name: 'S0', kind: 'read', args: [] }]);
    expect(cmds('E1+CGMI')).toEqual([
      { name: 'E', kind: 'exec', args: [], value: 1 },
      { name: '+CGMI', kind: 'exec', args: [] },
    ]);
  });

  it('bad syntax is an error with a position', () => {
    expect(error('+CSIM=10,"0070').error).toBe('unterminated quoted string');
    expect(error('+CSIM=10,"0070"x').error).toMatch(/expected ','/);
    expect(error('+').error).toMatch(/empty extended command name/);
    expect(error('&').error).toMatch(/followed by a letter/);
    expect(error('+CGMI"x"').error).toMatch(/unexpected/);
    expect(error('+X="\\2"').error).toMatch(/escape/);
    expect(error('+X=a"b').error).toMatch(/quote/);
    expect(error('S').error).toMatch(/register/);
    expect(error('\u0001').position).toBe(0);
  });
});

describe('argInt', () => {
  it('decimal tokens only', () => {
    expect(argInt({ kind: 'token', text: '176' })).toBe(176);
    expect(argInt({ kind: 'token', text: '0x10' })).toBeUndefined();
    expect(argInt({ kind: 'string', text: '1' })).toBeUndefined();
    expect(argInt({ kind: 'empty', text: '' })).toBeUndefined();
    expect(argInt(undefined)).toBeUndefined();
  });
});

// opensc-tool output, parsed (Debian opensc's `opensc-tool -s APDU`): the PC/SC
// client the integration tests use to prove that a program not written here sees
// bridgelab's cards and bridges as ordinary readers.

export interface OpenscExchange {
  sent: string;
  sw: string;
  data: string;
}

/** Parse `opensc-tool -s` output: "Sending: ..." then "Received (SW1=0x90, SW2=0x00)[:]" and hex dump lines. */
export function parseOpenscOutput(out: string): OpenscExchange[] {
  const result: OpenscExchange[] = [];
  let current: OpenscExchange | undefined;
  for (const line of out.split('\n')) {
    const s = /^Sending: ([0-9A-F ]+)/.exec(line);
    if (s) {
      current = { sent: s[1]!.replace(/ /g, ''), sw: '', data: '' };
      result.push(current);
      continue;
    }
    const rcv = /^Received \(SW1=0x([0-9a-fA-F]{2}), SW2=0x([0-9a-fA-F]{2})\)/.exec(line);
    if (rcv && current) {
      current.sw = (rcv[1]! + rcv[2]!).toUpperCase();
      continue;
    }
    const hex = /^((?:[0-9A-F]{2} ){1,16})/.exec(line);
    if (hex && current && current.sw) current.data += hex[1]!.replace(/ /g, '');
  }
  return result;
}

// Personalities of the fake QMI modem (data, one engine): how its UIM service answers
// Open Logical Channel (some firmwares refuse it with QMI_ERR_ACCESS_DENIED), how many
// logical channels it lets clients hold and what it answers past that, and whether Send
// APDU hands 61xx to the client or fetches the rest with GET RESPONSE itself (QMI UIM
// Send APDU TLV 0x11 "Procedure bytes": 0 return intermediate procedure bytes, the
// default, 1 skip them). Every value names its public source (sim/wwan/personality-file.ts).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { listPersonalityFiles, loadPersonalityFile, parseSourcedPersonality, type SourcedPersonality } from '../wwan/personality-file.ts';
import { qmiErrorCode } from './messages.ts';

const qmiErrorNick = z.string().refine(
  (s) => {
    try {
      qmiErrorCode(s);
      return true;
    } catch (err) {
      if (err instanceof RangeError) return false;
      throw err;
    }
  },
  { message: 'not a QMI protocol error nick this modem knows (e.g. AccessDenied, InsufficientResources)' },
);

export const QMI_PERSONALITY_VALUES = z
  .object({
    /** error every Open Logical Channel (and Logical Channel open) gets, or null: opens reach the card */
    openLogicalChannelError: qmiErrorNick.nullable(),
    /** error of an open the card refuses (MANAGE CHANNEL or SELECT fails; the card's SW goes in TLV 0x11) */
    cardRefusedOpenError: qmiErrorNick,
    /** logical channels all clients together may hold, or null: only the card's own limit applies */
    maxLogicalChannels: z.number().int().min(1).max(19).nullable(),
    /** answer to an open past maxLogicalChannels (null when there is no such limit) */
    channelLimitError: qmiErrorNick.nullable(),
    /** Send APDU without TLV 0x11: 'return' hands 61xx to the client, 'skip' fetches the rest (GET RESPONSE) */
    getResponseDefault: z.enum(['return', 'skip']),
    /** whether the modem obeys TLV 0x11 when the client sends it */
    procedureBytesTlv: z.enum(['honoured', 'ignored']),
    /** service versions CTL Get Version Info lists (major, minor) */
    serviceVersions: z.object({ ctl: z.tuple([z.number().int(), z.number().int()]), uim: z.tuple([z.number().int(), z.number().int()]) }).strict(),
  })
  .strict()
  .refine((v) => (v.maxLogicalChannels === null) === (v.channelLimitError === null), { message: 'maxLogicalChannels and channelLimitError are both set or both null' });

export type QmiPersonalityValues = z.output<typeof QMI_PERSONALITY_VALUES>;
export type QmiPersonality = SourcedPersonality<QmiPersonalityValues>;

export const QMI_PERSONALITY_DIR = join(dirname(fileURLToPath(import.meta.url)), 'personalities');
export const DEFAULT_QMI_PERSONALITY = 'qualcomm-uim';

export function listQmiPersonalities(): string[] {
  return listPersonalityFiles(QMI_PERSONALITY_DIR);
}

export function loadQmiPersonality(nameOrPath: string): QmiPersonality {
  return loadPersonalityFile(QMI_PERSONALITY_DIR, nameOrPath, QMI_PERSONALITY_VALUES);
}

/** A personality given inline (tests, embedding); validated like a file. */
export function qmiPersonality(raw: unknown): QmiPersonality {
  return parseSourcedPersonality(raw, '<inline>', QMI_PERSONALITY_VALUES);
}

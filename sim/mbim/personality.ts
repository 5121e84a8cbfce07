// Personalities of the fake MBIM modem (data, one engine): whether the MS basic connect
// extensions slot mapping / slot info commands exist (single-slot modules answer
// NO_DEVICE_SUPPORT), who sets the logical channel bits of an APDU's CLA (MBIM UICC
// low-level access: the host's class byte is present but the function constructs it), and
// whether the modem runs GET RESPONSE itself. Every value names its public source
// (sim/wwan/personality-file.ts).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { listPersonalityFiles, loadPersonalityFile, parseSourcedPersonality, type SourcedPersonality } from '../wwan/personality-file.ts';

export const MBIM_PERSONALITY_VALUES = z
  .object({
    /** MS basic connect extensions DEVICE_SLOT_MAPPINGS / SLOT_INFO_STATUS: answered, or NO_DEVICE_SUPPORT (9) */
    slotMappings: z.enum(['supported', 'no-device-support']),
    /** CLA of MS UICC APDU: 'modem-constructed' puts the Channel field's bits in it, 'host' sends the host's byte as is */
    classByte: z.enum(['modem-constructed', 'host']),
    /** 61xx: 'modem' fetches the rest with GET RESPONSE, 'passthrough' hands 61xx to the host */
    getResponse: z.enum(['modem', 'passthrough']),
  })
  .strict();

export type MbimPersonality = SourcedPersonality<z.output<typeof MBIM_PERSONALITY_VALUES>>;
export const MBIM_PERSONALITY_DIR = join(dirname(fileURLToPath(import.meta.url)), 'personalities');
export const DEFAULT_MBIM_PERSONALITY = 'ms-mbimex-v2';

export function listMbimPersonalities(): string[] {
  return listPersonalityFiles(MBIM_PERSONALITY_DIR);
}

export function loadMbimPersonality(nameOrPath: string): MbimPersonality {
  return loadPersonalityFile(MBIM_PERSONALITY_DIR, nameOrPath, MBIM_PERSONALITY_VALUES);
}

export function mbimPersonality(raw: unknown): MbimPersonality {
  return parseSourcedPersonality(raw, '<inline>', MBIM_PERSONALITY_VALUES);
}

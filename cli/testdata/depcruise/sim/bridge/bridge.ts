// bridge-standalone: the bridge -> the simulated card
import { card } from '../euicc/card.ts';
export const bridge = card;

// allowed: a bridge test may use the modem's test helpers; bridge-tests-only-modem-testing: not the card
import { fake } from '../modem/testing/fake.ts';
import { card } from '../euicc/card.ts';
export const t = [fake, card];

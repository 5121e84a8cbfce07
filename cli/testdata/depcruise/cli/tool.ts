// no-testing-in-production: cli -> a testing/ module
import { fake } from '../sim/modem/testing/fake.ts';
export const tool = fake;

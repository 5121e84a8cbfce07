// Worker thread entry of `npm run fuzz` (plain JavaScript, like bin/bridgelab.js): registers
// the tsx loader in this thread, then runs the TypeScript worker (worker.ts).
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');

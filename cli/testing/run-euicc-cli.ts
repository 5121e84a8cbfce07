// Runs `bridgelab euicc` in a child process for the PC/SC integration test, before
// (and independently of) its registration in cli/main.ts. Lives in cli/ (not sim/) so that sim/ imports nothing from cli/.
import { euiccCommand } from '../euicc.ts';
import { reportError } from '../main.ts';

try {
  process.exitCode = await euiccCommand(process.argv.slice(2));
} catch (e) {
  process.exitCode = reportError(e);
}

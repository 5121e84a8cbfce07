// Runs `bridgelab euicc` in a child process for the PC/SC integration test, before
// (and independently of) its registration in cli/main.ts.
import { euiccCommand } from '../../../cli/euicc.ts';
import { reportError } from '../../../cli/main.ts';

try {
  process.exitCode = await euiccCommand(process.argv.slice(2));
} catch (e) {
  process.exitCode = reportError(e);
}

#!/usr/bin/env node
// Entry point of the `bridgelab` command. The project is TypeScript run through
// tsx's loader, so the command works right after `npm install` with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));

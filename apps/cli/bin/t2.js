#!/usr/bin/env node
// The `t2` command. This launcher is committed (not built) so that npm links it at install
// time: npm links bins before the root `prepare` script builds dist/, and a bin pointing into
// dist/ would be missing until a second `npm install`.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/main.js', import.meta.url);
if (!existsSync(entry)) {
  console.error(
    't2: the CLI is not built yet (apps/cli/dist/main.js is missing): run `npm run build` at the repository root',
  );
  process.exit(1);
}
const { runCli } = await import(entry.href);
await runCli(process.argv.slice(2));

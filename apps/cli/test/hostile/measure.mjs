// Runs the built CLI's main() on the arguments and records its exit code, wall time and the
// process's peak resident memory (maxRSS) in the JSON file named by T2_MEASURE_OUT.
import { writeFileSync } from 'node:fs';

const { main } = await import(new URL('../../dist/main.js', import.meta.url).href);
const started = performance.now();
const code = await main(process.argv.slice(2));
writeFileSync(
  process.env.T2_MEASURE_OUT,
  JSON.stringify({
    code,
    seconds: (performance.now() - started) / 1000,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
  }),
);
process.exitCode = code;

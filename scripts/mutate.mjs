// `npm run mutate [-- module ...]`: Stryker over each module of scripts/mutate-modules.mjs in
// turn (one at a time, incremental: mutants whose code is unchanged keep their result, and the
// survivors are run again in case new tests kill them), then a score table per module read from
// reports/mutation/<module>/mutation.json.
// `npm run mutate -- --table` prints the table of the last reports without running Stryker;
// `--verbose` also lists the equivalent mutants with their reasons. `--retest` runs only the
// surviving mutants of the last report again, after tests were added (see retestSurvivors).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { moduleNamed, modules } from './mutate-modules.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const tableOnly = args.includes('--table');
const names = args.filter((a) => !a.startsWith('--'));
// --reports=DIR reads DIR/<module>/mutation.json instead (e.g. a copy of an earlier run).
const reportsDir = args.find((a) => a.startsWith('--reports='))?.slice('--reports='.length);
const chosen = names.length ? names.map(moduleNamed) : modules;

const failed = [];
const retest = args.includes('--retest');

function stryker(mod, extraEnv = {}) {
  const started = Date.now();
  const again = 'T2_MUTATE_RETEST' in extraEnv;
  console.log(`\n=== mutate ${mod.name} (${mod.pkg})${again ? ', survivors again' : ''} ===`);
  const r = spawnSync('npx', ['stryker', 'run', 'stryker.config.mjs'], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, T2_MUTATE_MODULE: mod.name, ...extraEnv },
  });
  console.log(`=== ${mod.name}: ${((Date.now() - started) / 1000).toFixed(0)} s ===`);
  if (r.status !== 0) failed.push(mod.name);
  return r.status === 0;
}

const sameMutant = (a, b) =>
  a.mutatorName === b.mutatorName &&
  a.replacement === b.replacement &&
  a.location.start.line === b.location.start.line &&
  a.location.start.column === b.location.start.column &&
  a.location.end.line === b.location.end.line &&
  a.location.end.column === b.location.end.column;

/**
 * Runs the surviving mutants of the last full report again (new tests are not seen by Stryker's
 * incremental mode) and writes their new results into mutation.json and the incremental file.
 */
function retestSurvivors(mod) {
  const dir = `${root}reports/mutation/${mod.name}`;
  const file = `${dir}/mutation.json`;
  if (!existsSync(file)) return stryker(mod);
  const report = JSON.parse(readFileSync(file, 'utf8'));
  const ranges = [];
  for (const [path, f] of Object.entries(report.files)) {
    const spans = new Set();
    for (const m of f.mutants) {
      if (m.status === 'Survived' || m.status === 'NoCoverage') {
        spans.add(`${path}:${m.location.start.line}-${m.location.end.line}`);
      }
    }
    ranges.push(...spans);
  }
  if (!ranges.length) return true;
  if (!stryker(mod, { T2_MUTATE_RETEST: JSON.stringify(ranges) })) return false;
  const again = JSON.parse(readFileSync(`${dir}/retest.json`, 'utf8'));
  let changed = 0;
  for (const [path, f] of Object.entries(again.files)) {
    const old = report.files[path];
    if (!old) continue;
    for (const m of f.mutants) {
      const o = old.mutants.find((x) => sameMutant(x, m));
      if (o && o.status !== m.status) {
        changed++;
        o.status = m.status;
        o.statusReason = m.statusReason;
        o.killedBy = m.killedBy;
        o.coveredBy = m.coveredBy;
      }
    }
  }
  console.log(`${mod.name}: ${changed} mutant result(s) changed on the second run`);
  writeFileSync(file, JSON.stringify(report));
  writeFileSync(`${dir}/incremental.json`, JSON.stringify(report));
  return true;
}

if (!tableOnly) {
  for (const mod of chosen) {
    if (retest) {
      retestSurvivors(mod);
      continue;
    }
    // An incremental run reuses every earlier "survived", even when tests were added since;
    // so after one, the survivors are run again.
    const incremental = existsSync(`${root}reports/mutation/${mod.name}/incremental.json`);
    if (stryker(mod) && incremental) retestSurvivors(mod);
  }
}

// Score: (killed + timeout) / (killed + timeout + survived + no coverage), after taking the
// mutants listed as equivalent in scripts/mutate-modules.mjs out of the survivors (compile
// errors are not valid mutants; Stryker's "ignored" ones, if any, are shown apart).
/** Text of a report location (1-based lines and columns) in `source`. */
function spanText(source, loc) {
  const lines = source.split('\n');
  const { start, end } = loc;
  if (start.line === end.line) return lines[start.line - 1].slice(start.column - 1, end.column - 1);
  const mid = lines.slice(start.line, end.line - 1);
  return [
    lines[start.line - 1].slice(start.column - 1),
    ...mid,
    lines[end.line - 1].slice(0, end.column - 1),
  ].join('\n');
}

const rows = [];
for (const mod of chosen) {
  const file = `${reportsDir ?? `${root}reports/mutation`}/${mod.name}/mutation.json`;
  if (!existsSync(file)) {
    rows.push({ module: mod.name, note: 'no report' });
    continue;
  }
  const report = JSON.parse(readFileSync(file, 'utf8'));
  const count = {};
  const survivors = [];
  const equivalents = [];
  const used = new Set();
  for (const [path, f] of Object.entries(report.files)) {
    const lines = f.source.split('\n');
    for (const m of f.mutants) {
      let status = m.status;
      const line = lines[m.location.start.line - 1].trim();
      const nextLines = lines.slice(m.location.start.line, m.location.start.line + 3).join('\n');
      const original = spanText(f.source, m.location);
      const where = `${path}:${m.location.start.line}:${m.location.start.column}`;
      const what = `${m.mutatorName}: ${original.replace(/\s+/g, ' ')} → ${(m.replacement ?? '').replace(/\s+/g, ' ')}`;
      if (status === 'Survived' || status === 'NoCoverage') {
        const eq = (mod.equivalent ?? []).find(
          (e) =>
            path === `${mod.pkg}/${e.file}` &&
            line.includes(e.line) &&
            (e.next === undefined || nextLines.includes(e.next)) &&
            e.original === original &&
            e.replacement === m.replacement,
        );
        if (eq) {
          status = 'Equivalent';
          used.add(eq);
          equivalents.push(`${where} ${what} (${eq.reason})`);
        } else survivors.push(`${where} ${what}${status === 'NoCoverage' ? ' [no coverage]' : ''}`);
      }
      count[status] = (count[status] ?? 0) + 1;
    }
  }
  const stale = (mod.equivalent ?? []).filter((e) => !used.has(e));
  const n = (s) => count[s] ?? 0;
  const detected = n('Killed') + n('Timeout');
  const valid = detected + n('Survived') + n('NoCoverage');
  rows.push({
    module: mod.name,
    mutants: Object.values(count).reduce((a, b) => a + b, 0),
    killed: detected,
    survived: n('Survived'),
    noCoverage: n('NoCoverage'),
    equivalent: n('Equivalent'),
    compileError: n('CompileError'),
    ignored: n('Ignored'),
    score: valid ? `${((100 * detected) / valid).toFixed(1)}%` : '-',
    survivors,
    equivalents,
    stale,
  });
}

console.log(
  '\nmutation score per module: (killed + timeout) / (killed + timeout + survived + no coverage),',
);
console.log(
  'equivalent mutants (listed in scripts/mutate-modules.mjs) and compile errors left out',
);
console.table(rows.map(({ survivors, equivalents, stale, ...r }) => r));
const verbose = args.includes('--verbose');
for (const r of rows) {
  if (r.survivors?.length) {
    console.log(`\n${r.module}: surviving mutants`);
    for (const s of r.survivors) console.log(`  ${s.slice(0, 200)}`);
  }
  if (verbose && r.equivalents?.length) {
    console.log(`\n${r.module}: equivalent mutants`);
    for (const s of r.equivalents) console.log(`  ${s.slice(0, 240)}`);
  }
  for (const e of r.stale ?? []) {
    console.log(
      `\n${r.module}: listed as equivalent but not seen surviving: ${e.file} ${e.original} → ${e.replacement}`,
    );
  }
}
console.log('\nreports: reports/mutation/<module>/index.html');
if (failed.length) {
  console.error(`stryker failed for: ${failed.join(', ')}`);
  process.exit(1);
}

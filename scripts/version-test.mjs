#!/usr/bin/env node
/**
 * Release-versioning test: copies the workspace manifests and `.changeset/` into a
 * temporary folder and runs `changeset version` there (what `npm run version` does
 * before refreshing the lockfile), then checks that every publishable package got the
 * version the pending changesets ask for and a CHANGELOG.md entry for it. The repo
 * itself is left untouched. Needs no network.
 *
 *   node scripts/version-test.mjs [--keep]
 */
import { execFile } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repo, workspaces } from './workspaces.mjs';

const run = promisify(execFile);
const keep = process.argv.includes('--keep');
const readJson = (p) => JSON.parse(readFileSync(p, 'utf8'));

/** The bump each package gets from the pending changesets' front matter (the largest wins). */
function pendingBumps() {
  const rank = { patch: 1, minor: 2, major: 3 };
  const bumps = new Map();
  const dir = join(repo, '.changeset');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.md') && f !== 'README.md')) {
    const front = readFileSync(join(dir, file), 'utf8').split('---')[1] ?? '';
    for (const m of front.matchAll(/^\s*["']?(@?[\w./-]+)["']?\s*:\s*(patch|minor|major)\s*$/gm)) {
      if ((rank[m[2]] ?? 0) > (rank[bumps.get(m[1])] ?? 0)) bumps.set(m[1], m[2]);
    }
  }
  return bumps;
}

function bumped(version, kind) {
  const [major, minor, patch] = version.split('.').map(Number);
  if (kind === 'major') return major === 0 ? `0.${minor + 1}.0` : `${major + 1}.0.0`;
  if (kind === 'minor') return `${major}.${minor + 1}.0`;
  return `${major}.${minor}.${patch + 1}`;
}

const tmp = mkdtempSync(join(tmpdir(), 't2-version-test-'));
try {
  const spaces = workspaces();
  writeFileSync(join(tmp, 'package.json'), readFileSync(join(repo, 'package.json')));
  cpSync(join(repo, '.changeset'), join(tmp, '.changeset'), { recursive: true });
  for (const { dir } of spaces) {
    mkdirSync(join(tmp, dir), { recursive: true });
    cpSync(join(repo, dir, 'package.json'), join(tmp, dir, 'package.json'));
  }
  const bumps = pendingBumps();
  if (bumps.size === 0) {
    console.log('[version-test] no pending changesets: nothing to check');
    process.exit(0);
  }
  const bin = join(repo, 'node_modules/@changesets/cli/bin.js');
  // changeset version looks for the git root only to read commit info; a fresh repo will do.
  await run('git', ['init', '-q'], { cwd: tmp });
  await run(process.execPath, [bin, 'version'], { cwd: tmp });
  const problems = [];
  for (const { dir, pkg } of spaces) {
    const kind = bumps.get(pkg.name);
    if (!kind || pkg.private) continue;
    const want = bumped(pkg.version, kind);
    const got = readJson(join(tmp, dir, 'package.json')).version;
    if (got !== want) problems.push(`${pkg.name}: version ${got}, expected ${want}`);
    const log = join(tmp, dir, 'CHANGELOG.md');
    if (!existsSync(log)) problems.push(`${pkg.name}: no CHANGELOG.md`);
    else if (!readFileSync(log, 'utf8').includes(`## ${want}`))
      problems.push(`${pkg.name}: CHANGELOG.md has no "## ${want}" section`);
  }
  const publishable = spaces.filter((s) => !s.pkg.private).map((s) => s.pkg.name);
  const unversioned = publishable.filter((n) => !bumps.has(n));
  if (problems.length) {
    console.error(`[version-test] FAILED:\n  ${problems.join('\n  ')}`);
    process.exit(1);
  }
  console.log(
    `[version-test] changeset version bumped ${bumps.size} packages with changelogs` +
      (unversioned.length ? `; no pending change for ${unversioned.join(', ')}` : ''),
  );
} finally {
  if (keep) console.log(`[version-test] kept ${tmp}`);
  else rmSync(tmp, { recursive: true, force: true });
}

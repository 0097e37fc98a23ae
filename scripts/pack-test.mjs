#!/usr/bin/env node
/**
 * Packed-install test: `npm pack` every publishable package, check each tarball holds only
 * what a user needs, install the tarballs into a temporary project (no workspace links),
 * then run an ESM script, a CommonJS script and `tsc` on TypeScript files that import the
 * published types, and run the `t2` binary. Needs built packages (`npm run build`).
 *
 *   node scripts/pack-test.mjs [--keep]     the test (--keep leaves the temporary project)
 *   node scripts/pack-test.mjs --pack-only --out dist-packages [--publish]
 *       release: the checked tarballs in dist-packages/; --publish then runs
 *       `changeset publish` (npm publish of every package whose version is not on npm yet)
 */
import { execFile } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { repo, workspaces } from './workspaces.mjs';

const run = promisify(execFile);
const argv = process.argv.slice(2);
const keep = argv.includes('--keep');
const packOnly = argv.includes('--pack-only');
const publish = argv.includes('--publish');
const outIndex = argv.indexOf('--out');
const outDir = outIndex >= 0 ? resolve(argv[outIndex + 1] ?? '') : null;
if (publish && !packOnly) throw new Error('--publish goes with --pack-only');
if (packOnly && !outDir) throw new Error('--pack-only needs --out DIR');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const started = Date.now();
const log = (text) =>
  console.log(`[pack-test ${((Date.now() - started) / 1000).toFixed(1)}s] ${text}`);

/** What a published package may contain besides package.json. */
const ALLOWED = [
  /^dist\/.+\.(c?js|d\.c?ts|c?js\.map)$/,
  /^README\.md$/,
  /^CHANGELOG\.md$/,
  /^LICENSE$/,
  /^bin\/t2\.js$/,
];

function publishable() {
  return workspaces()
    .filter(({ pkg }) => !pkg.private)
    .map(({ dir, pkg }) => ({ dir: join(repo, dir), pkg }));
}

async function sh(cmd, args, cwd) {
  try {
    return await run(cmd, args, {
      cwd,
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, npm_config_update_notifier: 'false' },
    });
  } catch (err) {
    throw new Error(
      `${cmd} ${args.join(' ')} (in ${cwd}) failed:\n${err.stdout ?? ''}${err.stderr ?? ''}`,
    );
  }
}

const problems = [];
const tmp = mkdtempSync(join(tmpdir(), 't2-pack-'));
try {
  const packs = outDir ?? join(tmp, 'tarballs');
  if (outDir) rmSync(outDir, { recursive: true, force: true });
  mkdirSync(packs, { recursive: true });
  const tarballs = [];
  for (const { dir, pkg } of publishable()) {
    const name = relative(repo, dir);
    for (const field of ['exports', 'files', 'license', 'repository', 'engines']) {
      if (pkg.name !== '@t2/cli' || field !== 'exports') {
        if (pkg[field] === undefined) problems.push(`${name}: package.json has no "${field}"`);
      }
    }
    if (pkg.sideEffects === undefined) problems.push(`${name}: package.json has no "sideEffects"`);
    if (!existsSync(join(dir, 'dist')))
      throw new Error(`${name}: no dist/ — run npm run build first`);
    const { stdout } = await sh(npm, ['pack', '--json', '--pack-destination', packs], dir);
    const [info] = JSON.parse(stdout.slice(stdout.indexOf('[')));
    const extra = info.files
      .map((f) => f.path)
      .filter((p) => p !== 'package.json' && !ALLOWED.some((re) => re.test(p)));
    if (extra.length) problems.push(`${pkg.name}: the tarball also holds ${extra.join(', ')}`);
    if (!info.files.some((f) => f.path === 'README.md'))
      problems.push(`${pkg.name}: no README.md in the tarball`);
    // Every file the exports and bin name must be in the tarball.
    const shipped = new Set(info.files.map((f) => f.path));
    const named = JSON.stringify([
      pkg.exports ?? null,
      pkg.bin ?? null,
      pkg.main ?? null,
      pkg.types ?? null,
    ]);
    for (const m of named.matchAll(/"\.\/([^"]+)"/g)) {
      if (!shipped.has(m[1])) problems.push(`${pkg.name}: ${m[1]} is referenced but not packed`);
    }
    tarballs.push(join(packs, info.filename));
    log(`${pkg.name}: ${info.entryCount} files, ${(info.size / 1024).toFixed(0)} kB packed`);
  }

  if (packOnly) {
    if (problems.length) fail();
    log(`${tarballs.length} tarballs in ${relative(process.cwd(), packs) || '.'}`);
    if (publish) {
      log('changeset publish');
      const { stdout } = await sh(join(repo, 'node_modules/.bin/changeset'), ['publish'], repo);
      console.log(stdout);
    }
    process.exit(0);
  }

  const project = join(tmp, 'consumer');
  cpSync(join(repo, 'tests/packaging/consumer'), project, { recursive: true });
  writeFileSync(
    join(project, 'package.json'),
    `${JSON.stringify({ name: 't2-pack-consumer', private: true, version: '0.0.0' }, null, 2)}\n`,
  );
  log(`installing ${tarballs.length} tarballs into ${project}`);
  // The registry serves third-party dependencies (gpu.js and its own); the npm cache
  // answers most of them. Install scripts are not needed to import the packages.
  await sh(
    npm,
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      '--ignore-scripts',
      '--omit=optional',
      '--no-package-lock',
      ...tarballs,
    ],
    project,
  );
  const linked = readdirSync(join(project, 'node_modules/@t2'));
  log(`installed @t2/${linked.join(', @t2/')}`);

  log('node smoke.mjs (import)');
  log((await sh(process.execPath, ['smoke.mjs'], project)).stdout.trim());
  log('node smoke.cjs (require)');
  log((await sh(process.execPath, ['smoke.cjs'], project)).stdout.trim());
  log('tsc on types.mts and types.cts');
  await sh(
    process.execPath,
    [join(repo, 'node_modules/typescript/bin/tsc'), '-p', project],
    project,
  );
  log('t2 --help');
  const help = (
    await sh(process.execPath, [join(project, 'node_modules/@t2/cli/bin/t2.js'), '--help'], project)
  ).stdout;
  if (!/pretrain/.test(help)) problems.push('t2 --help does not list its commands');
} finally {
  if (keep) log(`kept ${tmp}`);
  else rmSync(tmp, { recursive: true, force: true });
}

function fail() {
  console.error(`pack-test: ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
  process.exit(1);
}

if (problems.length) fail();
log('all packages install from their tarballs and work through import, require and tsc');

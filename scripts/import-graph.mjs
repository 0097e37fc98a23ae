#!/usr/bin/env node
/**
 * Import-graph check (run by `npm test`): fails when
 * - source files of a package or app import one another in a circle (relative imports under src/),
 * - a package imports another @t2 package it does not list in its package.json dependencies,
 *   or reaches into another package's files instead of its public `src/index.ts`,
 * - the @t2 packages depend on one another in a circle,
 * - tensor-core mentions adapters, PEFT or target modules (the tuner framework lives in
 *   @t2/tuners; tensor-core is tensors, autograd, ops, modules, optimizers, I/O, kernels).
 *
 *   node scripts/import-graph.mjs [--verbose]
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const verbose = process.argv.includes('--verbose');
const problems = [];

function sourceFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (/\.(ts|tsx|mts)$/.test(name) && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

// `import … from '…'`, `export … from '…'`, `import('…')`; type-only imports count too (a
// circle of types is still a circle to read).
const specifiers = (text) =>
  [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'";]*?from\s*['"]([^'"]+)['"]/g)]
    .map((m) => m[1])
    .concat([...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]));

function resolveRelative(from, spec) {
  const base = resolve(dirname(from), spec.replace(/\.js$/, ''));
  for (const candidate of [base, `${base}.ts`, `${base}.tsx`, join(base, 'index.ts')]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return null;
}

/** Strongly connected components with more than one file (Tarjan), each a circle. */
function circles(graph) {
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const stack = [];
  const on = new Set();
  const found = [];
  const visit = (v) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const scc = [];
      let w;
      do {
        w = stack.pop();
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) found.push(scc);
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return found;
}

const workspaces = ['packages', 'apps'].flatMap((group) =>
  readdirSync(join(root, group))
    .map((name) => join(root, group, name))
    .filter((dir) => existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'src'))),
);
const packageDeps = new Map();

for (const dir of workspaces) {
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const declared = new Set(
    Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies }).filter((d) =>
      d.startsWith('@t2/'),
    ),
  );
  const isPackage = dir.includes(`${join(root, 'packages')}`);
  if (isPackage) packageDeps.set(manifest.name, [...declared]);
  const graph = new Map();
  for (const file of sourceFiles(join(dir, 'src'))) {
    const edges = [];
    for (const spec of specifiers(readFileSync(file, 'utf8'))) {
      const where = relative(root, file);
      if (spec.startsWith('.')) {
        const target = resolveRelative(file, spec);
        if (target && !target.startsWith(`${dir}/`)) {
          problems.push(`${where}: '${spec}' reaches outside ${relative(root, dir)}`);
        } else if (target) edges.push(target);
      } else if (spec.startsWith('@t2/')) {
        const name = spec.split('/').slice(0, 2).join('/');
        if (spec !== name) problems.push(`${where}: '${spec}' is not a package's public API`);
        if (isPackage && !declared.has(name) && name !== manifest.name) {
          problems.push(`${where}: imports ${name}, not in ${manifest.name}'s dependencies`);
        }
      }
    }
    graph.set(file, edges);
  }
  const found = circles(graph);
  for (const scc of found) {
    problems.push(
      `import circle in ${relative(root, dir)}: ${scc.map((f) => relative(dir, f)).join(' ↔ ')}`,
    );
  }
  if (verbose) console.log(`${relative(root, dir)}: ${graph.size} files, ${found.length} circles`);
}

const core = join(root, 'packages', 'tensor-core');
for (const dir of ['src', 'test', 'bench']) {
  if (!existsSync(join(core, dir))) continue;
  for (const file of sourceFiles(join(core, dir))) {
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (/peft|adapter|target.?module/i.test(line)) {
          problems.push(`${relative(root, file)}:${i + 1}: tensor-core mentions tuner concepts`);
        }
      });
  }
}

for (const scc of circles(packageDeps)) {
  problems.push(`package dependency circle: ${scc.join(' ↔ ')}`);
}

if (problems.length) {
  console.error(`import-graph: ${problems.length} problem(s)`);
  for (const p of problems) console.error(`  ${p}`);
  process.exit(1);
}
console.log(
  `import-graph: no import circle in ${workspaces.length} workspaces; @t2 dependencies declared and acyclic`,
);

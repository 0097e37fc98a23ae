// Commands are thin: argument parsing and printing over library functions (apps/cli/src/lib
// and the packages). No command file imports another, and no function in one is long.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const commandsDir = fileURLToPath(new URL('../src/commands/', import.meta.url));
/** index.ts only lists the commands. */
const REGISTRY = 'index.ts';
const MAX_FUNCTION_LINES = 80;

const files = readdirSync(commandsDir)
  .filter((f) => f.endsWith('.ts'))
  .map((name) => {
    const text = readFileSync(join(commandsDir, name), 'utf8');
    return { name, source: ts.createSourceFile(name, text, ts.ScriptTarget.Latest, true) };
  });

function importsOf(source: ts.SourceFile): string[] {
  const specs: string[] = [];
  const visit = (node: ts.Node) => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    )
      specs.push(node.moduleSpecifier.text);
    if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    )
      specs.push(node.arguments[0].text);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return specs;
}

/** Every function with a body (declarations, methods, arrows), named as well as it can be. */
function functionLengths(source: ts.SourceFile): { name: string; lines: number }[] {
  const out: { name: string; lines: number }[] = [];
  const visit = (node: ts.Node, owner: string | undefined) => {
    let name = owner;
    if (ts.isVariableDeclaration(node) || ts.isPropertyAssignment(node))
      name = node.name.getText(source);
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      const own = node.name ? node.name.getText(source) : (owner ?? '(anonymous)');
      out.push({ name: own, lines: end - start + 1 });
      name = undefined;
    }
    ts.forEachChild(node, (child) => visit(child, name));
  };
  visit(source, undefined);
  return out;
}

describe('command files', () => {
  it('import no other command file (the registry index.ts excepted)', () => {
    const crossings = files
      .filter((f) => f.name !== REGISTRY)
      .flatMap((f) =>
        importsOf(f.source)
          .filter((spec) => spec.startsWith('./') || spec.startsWith('../commands'))
          .map((spec) => `${f.name} imports ${spec}`),
      );
    expect(crossings).toEqual([]);
  });

  it('the registry imports only commands and their type', () => {
    const registry = files.find((f) => f.name === REGISTRY);
    if (!registry) return;
    for (const spec of importsOf(registry.source))
      expect(spec.startsWith('./') || spec === '../lib/command').toBe(true);
  });

  it(`have no function over ${MAX_FUNCTION_LINES} lines`, () => {
    const long = files.flatMap((f) =>
      functionLengths(f.source)
        .filter((fn) => fn.lines > MAX_FUNCTION_LINES)
        .map((fn) => `${f.name}: ${fn.name} (${fn.lines} lines)`),
    );
    expect(long).toEqual([]);
  });

  it('the scan sees functions and imports (a check that cannot fail is no check)', () => {
    const sample = ts.createSourceFile(
      'x.ts',
      "import { a } from './other';\nexport const c = { run(x: number) {\n  return x;\n} };\nconst f = () => {\n};\n",
      ts.ScriptTarget.Latest,
      true,
    );
    expect(importsOf(sample)).toEqual(['./other']);
    expect(functionLengths(sample)).toEqual([
      { name: 'run', lines: 3 },
      { name: 'f', lines: 2 },
    ]);
  });
});

import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { commands } from './commands/index';
import type { CommandIO } from './lib/command';
import { describeError } from './lib/errors';
import { commandHelp } from './lib/examples';
import { applyGlobalFlags, resetGlobalFlags } from './lib/global-flags';
import { loadPlugins, PLUGIN_USAGE } from './lib/methods';
import { releaseOutputDirs } from './lib/output-dir';
import { closestNames } from './lib/suggest';

export type { Command, CommandIO } from './lib/command';
export { commands };

function help(): string {
  const width = Math.max(...commands.map((c) => c.name.length), 4);
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `t2 — adapt language models with Bone, SVF and Transformer².\n\nUsage: t2 <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nOptions of every command:\n${PLUGIN_USAGE}\nRun 't2 <command> --help' for a command's options, defaults and an example; 't2 --version' for the version.\n`;
}

/** The @t2/cli version (its package.json sits one folder above src/ and dist/). */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  return String(pkg.version);
}

/** The commands a mistyped name probably meant. */
export function suggestCommands(name: string): string[] {
  return closestNames(
    name,
    commands.map((c) => c.name),
  );
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: string[], io: CommandIO = processIO()): Promise<number> {
  // Plugins register adapter methods, which help texts and every command then list.
  try {
    argv = await loadPlugins(argv);
  } catch (err) {
    io.stderr(`t2: ${describeError(err).message}\n`);
    return 2;
  }
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(help());
    return name ? 0 : 1;
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    io.stdout(`t2 ${version()}\n`);
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    const guesses = suggestCommands(name);
    const hint = guesses.length
      ? ` — did you mean ${guesses.map((g) => `'${g}'`).join(' or ')}?`
      : ` (commands: ${commands.map((c) => c.name).join(', ')})`;
    io.stderr(`t2: unknown command '${name}'${hint}\nRun 't2 --help' for the list of commands.\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(commandHelp(command));
    return 0;
  }
  try {
    return await command.run(applyGlobalFlags(rest), io);
  } catch (err) {
    // Bad input (a file, a flag, data) exits 2 with its one-line reason; anything else is a
    // bug in t2 and exits 1 (apps/cli/README.md).
    const { code, message } = describeError(err);
    io.stderr(`t2 ${name}: ${message}\n`);
    if (process.env.T2_DEBUG && err instanceof Error) io.stderr(`${err.stack}\n`);
    return code;
  } finally {
    await releaseOutputDirs();
    resetGlobalFlags();
  }
}

function processIO(): CommandIO {
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    isTTY: Boolean(process.stderr.isTTY),
  };
}

function isEntryPoint(): boolean {
  if (!process.argv[1]) return false;
  try {
    return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

/**
 * The process entry (dist/main.js run directly, or the committed bin/t2.js launcher): runs
 * `main` on the process arguments. A closed stdout (`t2 generate … | head -1`) ends the run
 * quietly, as other command-line tools do, instead of a stack trace.
 */
export async function runCli(argv: string[] = process.argv.slice(2)): Promise<void> {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  process.exitCode = await main(argv);
}

if (isEntryPoint()) void runCli();

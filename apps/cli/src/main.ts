import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { commands } from './commands/index';
import { describeError } from './commands/errors';
import { releaseOutputDirs } from './commands/output-dir';
import type { CommandIO } from './commands/types';

export type { Command, CommandIO } from './commands/types';
export { commands };

function help(): string {
  const width = Math.max(...commands.map((c) => c.name.length), 4);
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `t2 — adapt language models with Bone, SVF and Transformer².\n\nUsage: t2 <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun 't2 <command> --help' for a command's options.\n`;
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: string[], io: CommandIO = processIO()): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(help());
    return name ? 0 : 1;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    io.stderr(`t2: unknown command '${name}'\n\n${help()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(`${command.summary}\n\nUsage: ${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    // Bad input (a file, a flag, data) exits 2 with its one-line reason; anything else is a
    // bug in t2 and exits 1 (apps/cli/README.md).
    const { code, message } = describeError(err);
    io.stderr(`t2 ${name}: ${message}\n`);
    if (process.env.T2_DEBUG && err instanceof Error) io.stderr(`${err.stack}\n`);
    return code;
  } finally {
    await releaseOutputDirs();
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

if (isEntryPoint()) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}

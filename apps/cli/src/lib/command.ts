/** One `t2` subcommand. `run` receives the arguments after the command name. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(argv: string[], io: CommandIO): Promise<number>;
}

/** Where a command writes; tests substitute buffers for the process streams. */
export interface CommandIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** True when stderr is a terminal (progress bars redraw in place). */
  isTTY: boolean;
}

/** An error whose message is shown to the user as is, without a stack trace. */
export class UsageError extends Error {}

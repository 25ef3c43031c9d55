// Where a command's output goes: stdout for results, stderr for progress and errors. main() takes one, so
// tests run commands in-process and read what they printed; the real CLI passes the process's streams.

/** The streams a command writes to (text as given: callers add their own newlines). */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

/** The process's own stdout and stderr. */
export const processIo: CliIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
};

/** What every command's action receives besides its flags. */
export interface CommandContext {
  io: CliIo;
  out(line: string): void; // one result line on stdout
  log(line: string): void; // one progress or warning line on stderr
}

export function commandContext(io: CliIo): CommandContext {
  return { io, out: (line) => io.stdout(`${line}\n`), log: (line) => io.stderr(`${line}\n`) };
}

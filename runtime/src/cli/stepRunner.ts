import { runAsProcess, runCommand } from './command.js';
import { stepExecCommand } from './commands/stepExec.js';

/**
 * Entry of dist/stepExec.js, the small bundle a cluster job starts: `node stepExec.js step-exec ARGS` does what
 * `cairn step-exec ARGS` does, without loading every other command (the ML backends, serving, the RPC runtime), which
 * is most of a job's start-up on the critical path of a Slurm chain (docs/cluster.md, "Overhead").
 */
runAsProcess(async (io) => {
  const [name, ...rest] = process.argv.slice(2);
  if (name !== stepExecCommand.name) {
    io.stderr(`cairn step runner: expected '${stepExecCommand.name}' and its options, got '${name ?? ''}'\n`);
    return 2;
  }
  return runCommand(stepExecCommand, rest, io);
});

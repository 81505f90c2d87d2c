import type { CliCommand } from '../command.js';
import { schemaCommand } from './schema.js';
import { validateCommand } from './validate.js';
import { driftCommand } from './drift.js';
import { runCommand } from './run.js';
import { runsCommand } from './runs.js';
import { lineageCommand } from './lineage.js';
import { gcCommand } from './gc.js';
import { runtimeCommand } from './runtime.js';
import { modelsCommand } from './models.js';
import { serveCommand } from './serve.js';
import { replayCommand } from './replay.js';
import { monitorCommand } from './monitor.js';
import { abCommand } from './ab.js';
import { deploymentsCommand } from './deployments.js';
import { exportCommand } from './export.js';
import { pullCommand, pushCommand } from './remote.js';
import { stepExecCommand } from './stepExec.js';
import { storeCommand } from './store.js';
import { sweepCommand } from './sweep.js';

/** Every `cairn` sub-command; each lives in its own file in this folder. */
export const commands: CliCommand[] = [
  validateCommand,
  schemaCommand,
  driftCommand,
  runCommand,
  sweepCommand,
  runsCommand,
  lineageCommand,
  gcCommand,
  runtimeCommand,
  modelsCommand,
  serveCommand,
  replayCommand,
  deploymentsCommand,
  monitorCommand,
  abCommand,
  exportCommand,
  pushCommand,
  pullCommand,
  storeCommand,
];

/** Run by Cairn itself (a cluster job), not listed in the help. */
export const hiddenCommands: CliCommand[] = [stepExecCommand];

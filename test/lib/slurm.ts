import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { processAlive } from '../../runtime/src/util/process.js';

/**
 * A real single-node Slurm cluster (munged + slurmctld + slurmd) in a temp folder, on free ports, for one test file.
 * Needs Debian's slurm-wlm and munge (scripts/setup.sh installs them) and root (the daemons run as SlurmUser=root).
 */
export interface SlurmCluster {
  dir: string;
  /** Set SLURM_CONF to this for every Slurm client (sbatch, squeue, scontrol). */
  conf: string;
  node: string;
  partition: string;
  env: NodeJS.ProcessEnv;
  /** Runs a Slurm client against this cluster; its stdout, trimmed. */
  client(program: string, args: string[]): string;
  /** Stops the daemons by their pids and removes the folder. */
  stop(): Promise<void>;
}

const daemons = ['/usr/sbin/munged', '/usr/sbin/slurmctld', '/usr/sbin/slurmd', '/usr/bin/sbatch'];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitUntil(what: string, test: () => boolean, timeoutMs: number, detail: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline)
      throw new Error(`slurm test cluster: ${what} did not happen within ${timeoutMs} ms\n${detail()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function tail(file: string): string {
  try {
    return `${file}:\n${readFileSync(file, 'utf8').split('\n').slice(-15).join('\n')}`;
  } catch {
    return `${file}: (none)`;
  }
}

export async function startSlurm(options: { timeLimitMinutes?: number } = {}): Promise<SlurmCluster> {
  const missing = daemons.filter((d) => !existsSync(d));
  if (missing.length > 0) {
    throw new Error(
      `Slurm is not installed (missing ${missing.join(', ')}): run \`bash scripts/setup.sh\` (slurm-wlm, munge)`,
    );
  }
  if (process.getuid?.() !== 0)
    throw new Error('the Slurm test cluster runs its daemons as root; run the tests as root');
  const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'cairn-slurm-')));
  for (const sub of ['munge/run', 'munge/log', 'munge/lib', 'etc', 'state', 'spool', 'log']) {
    mkdirSync(path.join(dir, sub), { recursive: true });
  }
  const key = path.join(dir, 'munge', 'munge.key');
  writeFileSync(key, randomBytes(1024));
  chmodSync(key, 0o400);
  const socket = path.join(dir, 'munge/run/munge.socket');
  const pids = {
    munged: path.join(dir, 'munge/run/munged.pid'),
    slurmctld: path.join(dir, 'slurmctld.pid'),
    slurmd: path.join(dir, 'slurmd.pid'),
  };
  const node = os.hostname().split('.')[0] ?? 'localhost';
  const partition = 'debug';
  const conf = path.join(dir, 'etc', 'slurm.conf');
  const env: NodeJS.ProcessEnv = { ...process.env, SLURM_CONF: conf };
  const stop = async () => {
    // Reverse start order; each waited for, so the next test file's cluster starts on a clean machine.
    for (const file of [pids.slurmd, pids.slurmctld, pids.munged]) {
      const pid = readPid(file);
      if (pid === undefined || !processAlive(pid)) continue;
      process.kill(pid, 'SIGTERM');
      await waitUntil(
        `exit of pid ${pid}`,
        () => !processAlive(pid),
        20_000,
        () => file,
      );
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const [ctldPort, slurmdPort] = [await freePort(), await freePort()];
    const memory = Math.floor((os.totalmem() / 1048576) * 0.8);
    writeFileSync(
      conf,
      [
        'ClusterName=cairntest',
        `SlurmctldHost=${node}(127.0.0.1)`,
        `SlurmctldPort=${ctldPort}`,
        `SlurmdPort=${slurmdPort}`,
        'AuthType=auth/munge',
        `AuthInfo=socket=${socket}`,
        'CredType=cred/munge',
        'SlurmUser=root',
        'SlurmdUser=root',
        `StateSaveLocation=${dir}/state`,
        `SlurmdSpoolDir=${dir}/spool`,
        `SlurmctldPidFile=${pids.slurmctld}`,
        `SlurmdPidFile=${pids.slurmd}`,
        `SlurmctldLogFile=${dir}/log/slurmctld.log`,
        `SlurmdLogFile=${dir}/log/slurmd.log`,
        'ProctrackType=proctrack/linuxproc',
        'TaskPlugin=task/none',
        'SchedulerType=sched/backfill',
        'SelectType=select/cons_tres',
        'SelectTypeParameters=CR_Core_Memory',
        // Without a default, a job without --mem takes the whole node's memory and jobs could not run side by side.
        'DefMemPerCPU=256',
        'ReturnToService=2',
        'MpiDefault=none',
        'JobCompType=jobcomp/none',
        'AccountingStorageType=accounting_storage/none',
        'JobAcctGatherType=jobacct_gather/none',
        'SlurmctldTimeout=30',
        'SlurmdTimeout=30',
        'InactiveLimit=0',
        'MinJobAge=300',
        'KillWait=2',
        // Fast scheduling after submit/finish: the test cluster is small and idle.
        'SchedulerParameters=sched_min_interval=0,batch_sched_delay=0',
        `NodeName=${node} NodeAddr=127.0.0.1 CPUs=${os.cpus().length} RealMemory=${memory} State=UNKNOWN`,
        `PartitionName=${partition} Nodes=${node} Default=YES MaxTime=${options.timeLimitMinutes ?? 'INFINITE'} State=UP`,
        '',
      ].join('\n'),
    );
    execFileSync('/usr/sbin/munged', [
      `--key-file=${key}`,
      `--socket=${socket}`,
      `--pid-file=${pids.munged}`,
      `--log-file=${dir}/munge/log/munged.log`,
      `--seed-file=${dir}/munge/lib/seed`,
      '-f',
    ]);
    await waitUntil(
      'munged start',
      () => existsSync(socket),
      10_000,
      () => tail(`${dir}/munge/log/munged.log`),
    );
    execFileSync('/usr/sbin/slurmctld', ['-f', conf], { env });
    execFileSync('/usr/sbin/slurmd', ['-f', conf, '-N', node], { env });
    const state = () => spawnSync('sinfo', ['-h', '-o', '%T'], { env, encoding: 'utf8' }).stdout.trim();
    await waitUntil(
      'node idle in sinfo',
      () => state() === 'idle',
      30_000,
      () => `sinfo: ${state()}\n${tail(`${dir}/log/slurmctld.log`)}\n${tail(`${dir}/log/slurmd.log`)}`,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  const client = (program: string, args: string[]) => execFileSync(program, args, { env, encoding: 'utf8' }).trim();
  return { dir, conf, node, partition, env, client, stop };
}

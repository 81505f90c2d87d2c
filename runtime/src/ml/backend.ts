import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';

/**
 * Picks the best tfjs backend present on this machine, once per process: tfjs-node-gpu (CUDA) > tfjs-node (native
 * TensorFlow) > wasm > cpu. The native packages are optional dependencies that often cannot install (no prebuilt
 * binary, no CUDA), so they are required dynamically and every failure falls through to the next candidate.
 */
export type BackendName = 'tfjs-node-gpu' | 'tfjs-node' | 'tfjs-wasm' | 'tfjs-cpu';

export const backendCandidates: readonly BackendName[] = ['tfjs-node-gpu', 'tfjs-node', 'tfjs-wasm', 'tfjs-cpu'];

export interface BackendChoice {
  name: BackendName;
  /** Why the better candidates were skipped, for the step log. */
  skipped: string[];
}

const nodeRequire = createRequire(__filename);
let chosen: Promise<BackendChoice> | undefined;

/** Loading a native package registers its backend ('tensorflow') with the shared tfjs-core instance. */
function tryNative(pkg: string): string | undefined {
  try {
    nodeRequire(pkg);
    return undefined;
  } catch (e) {
    return `${pkg}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
  }
}

async function tryBackend(name: BackendName): Promise<string | undefined> {
  switch (name) {
    case 'tfjs-node-gpu':
    case 'tfjs-node': {
      const pkg = name === 'tfjs-node-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
      const failure = tryNative(pkg);
      if (failure !== undefined) return failure;
      return (await tf.setBackend('tensorflow')) ? undefined : `${pkg}: the tensorflow backend did not start`;
    }
    case 'tfjs-wasm': {
      try {
        nodeRequire('@tensorflow/tfjs-backend-wasm');
      } catch (e) {
        return `@tensorflow/tfjs-backend-wasm: ${e instanceof Error ? e.message : String(e)}`;
      }
      return (await tf.setBackend('wasm')) ? undefined : 'wasm: the backend did not start';
    }
    case 'tfjs-cpu':
      return (await tf.setBackend('cpu')) ? undefined : 'cpu: the backend did not start';
  }
}

async function choose(candidates: readonly BackendName[]): Promise<BackendChoice> {
  // Production mode: no debug checks, and no "install tfjs-node" greeting from the cpu backend in step logs.
  tf.env().set('PROD', true);
  const skipped: string[] = [];
  for (const name of candidates) {
    const failure = await tryBackend(name);
    if (failure === undefined) {
      await tf.ready();
      return { name, skipped };
    }
    skipped.push(failure);
  }
  throw new Error(`no tfjs backend could start: ${skipped.join('; ')}`);
}

/**
 * The backend every model in this process trains and predicts on. `CAIRN_TFJS_BACKEND` (one of backendCandidates)
 * forces a backend, for benchmarks and for reproducing a run made on another machine.
 */
export function initBackend(): Promise<BackendChoice> {
  if (!chosen) {
    const forced = process.env['CAIRN_TFJS_BACKEND'];
    const list =
      forced && (backendCandidates as readonly string[]).includes(forced) ? [forced as BackendName] : backendCandidates;
    chosen = choose(list);
  }
  return chosen;
}

/** Switches backend explicitly (benchmarks compare wasm and cpu in one process). */
export async function useBackend(name: BackendName): Promise<BackendChoice> {
  chosen = choose([name]);
  return chosen;
}

export { tf };

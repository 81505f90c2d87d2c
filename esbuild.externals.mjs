// Native and optional modules are never bundled: they are loaded from node_modules beside the bundle. One list for
// esbuild.mjs, the benchmarks' bundler (bench/lib/runBundled.mjs) and the tests' CLI build (test/runtime/engine/cli.ts).
export const nativeExternals = [
  'better-sqlite3',
  'onnxruntime-node',
  '@tensorflow/tfjs-node',
  '@tensorflow/tfjs-node-gpu',
  '@tensorflow/tfjs',
  '@tensorflow/tfjs-backend-wasm',
];

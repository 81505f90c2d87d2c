/**
 * The prediction log's writer thread (bundled as dist/logWriter.js; started by predictionLog.ts). It owns its own
 * SQLite connection to the workspace store and writes the batches the serving thread sends, one at a time, so the
 * inserts, the commit and the WAL work run beside the event loop that answers requests, not on it. Every batch gets
 * exactly one reply (rows inserted, busy, or an error); the serving thread keeps a batch until its reply, so a busy
 * database hands the rows back instead of losing them.
 */
import type Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import {
  isBusy,
  openWriterConnection,
  RowWriter,
  setBusyTimeout,
  type WriterData,
  type WriterReply,
  type WriterRequest,
} from '../store/predictionRows.js';

interface Start extends WriterData {
  port: MessagePort;
}

const data = workerData as Start;
const signal = new Int32Array(data.signal);
const reply = (r: WriterReply): void => {
  data.port.postMessage(r);
  Atomics.add(signal, 0, 1);
  Atomics.notify(signal, 0);
};

let db: Database.Database | undefined;
let writer: RowWriter | undefined;
let busyMs = -1;
try {
  db = openWriterConnection(data.file);
  writer = new RowWriter(db, data.deploymentId, data.maxRows);
} catch (e) {
  reply({ startError: e instanceof Error ? e.message : String(e) });
  db?.close();
  data.port.close();
}

parentPort?.on('message', (m: WriterRequest) => {
  if (!writer || !db) return;
  if (m.kind === 'close') {
    db.close();
    data.port.close();
    parentPort?.close();
    return;
  }
  if (m.busyMs !== busyMs) setBusyTimeout(db, (busyMs = m.busyMs));
  try {
    reply({ seq: m.seq, inserted: writer.write(m.values) });
  } catch (e) {
    reply(isBusy(e) ? { seq: m.seq, busy: true } : { seq: m.seq, error: e instanceof Error ? e.message : String(e) });
  }
});

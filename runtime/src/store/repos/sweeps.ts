import { matrixSchema, sweepSummarySchema, type Matrix, type SweepSummary } from '@cairn/protocol';
import { z } from 'zod';
import type { SqlDb } from '../sql.js';
import { pipelineIdOf } from './runs.js';

/** Parameter sweeps (migration 9): a sweep row, and its combinations as runs whose sweep_id points at it. */

export interface NewSweep {
  pipelineName: string;
  pipelineFile: string;
  matrix: Matrix;
  params: string[];
  combinations: number;
}

interface SweepRow {
  id: number;
  pipeline: string;
  file: string;
  created_at: number;
  matrix_json: string;
  params_json: string;
  combinations: number;
  runs: number;
}

const sweepColumns = `s.id, p.name AS pipeline, p.file, s.created_at, s.matrix_json, s.params_json, s.combinations,
  (SELECT count(*) FROM runs r WHERE r.sweep_id = s.id) AS runs`;
const sweepFrom = 'FROM sweeps s JOIN pipelines p ON p.id = s.pipeline_id';

function toSummary(row: SweepRow): SweepSummary {
  return sweepSummarySchema.parse({
    id: row.id,
    pipeline: row.pipeline,
    pipelineFile: row.file,
    createdAt: row.created_at,
    params: z.array(z.string()).parse(JSON.parse(row.params_json)),
    combinations: row.combinations,
    runs: Number(row.runs),
  });
}

export class SweepRepository {
  constructor(private readonly db: SqlDb) {}

  createSweep(sweep: NewSweep): Promise<number> {
    return this.db.tx(async (t) => {
      const pipelineId = await pipelineIdOf(t, sweep.pipelineName, sweep.pipelineFile);
      const row = await t.get<{ id: number }>(
        `INSERT INTO sweeps (pipeline_id, created_at, matrix_json, params_json, combinations)
         VALUES (?, ?, ?, ?, ?) RETURNING id`,
        [pipelineId, Date.now(), JSON.stringify(sweep.matrix), JSON.stringify(sweep.params), sweep.combinations],
      );
      return row?.id ?? -1;
    });
  }

  async get(id: number): Promise<SweepSummary | undefined> {
    const row = await this.db.get<SweepRow>(`SELECT ${sweepColumns} ${sweepFrom} WHERE s.id = ?`, [id]);
    return row ? toSummary(row) : undefined;
  }

  /** The matrix the sweep was started with. */
  async matrix(id: number): Promise<Matrix | undefined> {
    const row = await this.db.get<{ matrix_json: string }>('SELECT matrix_json FROM sweeps WHERE id = ?', [id]);
    return row ? matrixSchema.parse(JSON.parse(row.matrix_json)) : undefined;
  }

  /** Newest first. */
  async list(limit = 100): Promise<SweepSummary[]> {
    const rows = await this.db.all<SweepRow>(`SELECT ${sweepColumns} ${sweepFrom} ORDER BY s.id DESC LIMIT ?`, [limit]);
    return rows.map(toSummary);
  }
}

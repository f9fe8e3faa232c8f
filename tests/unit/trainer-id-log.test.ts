import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { IdLog, readIdLog } from '../../src/trainer/id-log.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tmpLog(): string {
  const d = mkdtempSync(join(tmpdir(), 'idlog-'));
  dirs.push(d);
  return join(d, 'ids.jsonl');
}

const e = (id: string, step: number) => ({ id, step, topic: 't', partition: 0, offset: id });

describe('id log', () => {
  it('drops the entries of a lineage that died after its last checkpoint', () => {
    const path = tmpLog();
    const a = new IdLog(path);
    a.start(0, null);
    a.trained([e('1', 1), e('2', 1)]);
    a.trained([e('3', 2)]);
    a.trained([e('4', 3)]); // step 3 never checkpointed
    const b = new IdLog(path);
    b.start(2, '2-abc');
    b.trained([e('4', 3)]);
    const r = readIdLog(path);
    expect(r.entries.map((x) => x.id)).toEqual(['1', '2', '3', '4']);
    expect(r.superseded.map((x) => x.id)).toEqual(['4']);
    expect(r.starts.map((s) => s.fromStep)).toEqual([0, 2]);
  });

  it('tolerates a torn last line from a killed writer', () => {
    const path = tmpLog();
    new IdLog(path).trained([e('1', 1)]);
    appendFileSync(path, '{"id":"2","st');
    expect(readIdLog(path).entries.map((x) => x.id)).toEqual(['1']);
  });
});

import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  defaultHandWrittenDir,
  handWrittenMarkdown,
  readHandWritten,
} from '../../src/bench/report/hand-written.ts';
import { generateReport } from '../../src/bench/report/report.ts';
import { writeResult } from '../../src/bench/results.ts';
import { pipelineResult } from './bench-fixtures.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'prism-bench-hand-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('hand-written BENCHMARKS sections', () => {
  it('reads bench/hand-written/*.md in file-name order, and none from a missing folder', async () => {
    const hand = join(dir, 'hand');
    await mkdir(hand);
    await writeFile(join(hand, '09-b.md'), '## 9. B\n\nsecond\n');
    await writeFile(join(hand, '08-a.md'), '## 8. A\n\nfirst\n');
    await writeFile(join(hand, 'notes.txt'), 'not a section');
    const s = await readHandWritten(hand);
    expect(s.map((x) => x.file)).toEqual(['08-a.md', '09-b.md']);
    expect(handWrittenMarkdown(s)).toBe(
      '<!-- Hand-written: copied by `prism bench report` from bench/hand-written/08-a.md; edit that file, not this page. -->\n\n' +
        '## 8. A\n\nfirst\n\n' +
        '<!-- Hand-written: copied by `prism bench report` from bench/hand-written/09-b.md; edit that file, not this page. -->\n\n' +
        '## 9. B\n\nsecond\n',
    );
    expect(await readHandWritten(join(dir, 'missing'))).toEqual([]);
  });

  it('a regenerated report keeps the hand-written sections after the generated ones, verbatim', async () => {
    const hand = join(dir, 'hand');
    await mkdir(hand);
    const section = '## 8. Memory (issue 14)\n\n| model | MiB |\n|---|---|\n| small | 1603 |\n';
    await writeFile(join(hand, '08-memory.md'), section);
    await writeResult(dir, pipelineResult());
    const out = join(dir, 'BENCHMARKS.md');
    for (let i = 0; i < 2; i++)
      await generateReport({ resultsDir: dir, out, plots: false, handWrittenDir: hand });
    const md = await readFile(out, 'utf8');
    expect(md).toContain('## 2. Pipeline');
    expect(md.endsWith(section)).toBe(true);
    expect(md.split('## 8. Memory').length).toBe(2); // once, however often the report runs
    expect(md.indexOf('## 2. Pipeline')).toBeLessThan(md.indexOf('## 8. Memory'));
  });

  it('the repository keeps BENCHMARKS section 8 (memory and the event loop) as a hand-written file', async () => {
    const s = await readHandWritten(defaultHandWrittenDir());
    const eight = s.find((x) => x.markdown.startsWith('## 8. Memory and the event loop (issue 14)'));
    expect(eight?.markdown).toContain('| small (4.5 M) | 16×512 | 6738 | 2661 | 1603 | 1133 | 1122 |');
  });
});

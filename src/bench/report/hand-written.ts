/**
 * Hand-written sections of BENCHMARKS.md: figures measured by commands that write no result file (or
 * that the report cannot render yet) live as Markdown files in bench/hand-written/, and `prism bench
 * report` copies each one, in file-name order, after the generated sections. Regenerating the report
 * therefore never drops them; to change one, edit its file and re-run the report.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from '../paths.ts';

export interface HandWrittenSection {
  /** File name under the folder, e.g. `08-memory-and-event-loop.md`. */
  file: string;
  markdown: string;
}

/** bench/hand-written/ at the repository root. */
export function defaultHandWrittenDir(): string {
  return join(repoRoot(), 'bench', 'hand-written');
}

/** Every `*.md` of `dir`, sorted by file name; none when the folder does not exist. */
export async function readHandWritten(dir: string): Promise<HandWrittenSection[]> {
  let files: string[];
  try {
    files = (await readdir(dir)).filter((f) => f.endsWith('.md')).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return Promise.all(
    files.map(async (file) => ({ file, markdown: await readFile(join(dir, file), 'utf8') })),
  );
}

/** The sections as they appear in BENCHMARKS.md: each under a comment naming the file it comes from. Pure. */
export function handWrittenMarkdown(
  sections: readonly HandWrittenSection[],
  folder = 'bench/hand-written',
): string {
  return sections
    .map(
      (s) =>
        `<!-- Hand-written: copied by \`prism bench report\` from ${folder}/${s.file}; edit that file, not this page. -->\n\n` +
        `${s.markdown.trim()}\n`,
    )
    .join('\n');
}

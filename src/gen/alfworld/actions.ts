/**
 * ALFWorld-like commands: the structured form the policies plan with, and the text the
 * assistant turn carries. The base vocabulary is ALFWorld's; `teleport` and `sanitize` exist
 * only in conflict families (see src/gen/families.ts), as does the JSON output format.
 */
export type AlfAction =
  | { verb: 'go' | 'teleport' | 'open' | 'close' | 'use' | 'examine'; target: string }
  | { verb: 'take'; obj: string; from: string }
  | { verb: 'put'; obj: string; to: string }
  | { verb: 'clean' | 'heat' | 'cool'; obj: string; tool: string }
  | { verb: 'sanitize'; obj: string }
  | { verb: 'look' | 'inventory' };

export type ActionFormat = 'text' | 'json';

/** Verbs of the base (ALFWorld) vocabulary; anything else is a conflict-family tool. */
export const BASE_VERBS: ReadonlySet<string> = new Set([
  'go',
  'open',
  'close',
  'use',
  'examine',
  'take',
  'put',
  'clean',
  'heat',
  'cool',
  'look',
  'inventory',
]);

export function formatText(a: AlfAction): string {
  switch (a.verb) {
    case 'go':
      return `go to ${a.target}`;
    case 'teleport':
      return `teleport to ${a.target}`;
    case 'open':
    case 'close':
    case 'use':
    case 'examine':
      return `${a.verb} ${a.target}`;
    case 'take':
      return `take ${a.obj} from ${a.from}`;
    case 'put':
      return `put ${a.obj} in/on ${a.to}`;
    case 'clean':
    case 'heat':
    case 'cool':
      return `${a.verb} ${a.obj} with ${a.tool}`;
    case 'sanitize':
      return `microwave-sanitize ${a.obj}`;
    case 'look':
    case 'inventory':
      return a.verb;
  }
}

/** The JSON output format of the `json-actions` conflict family: one compact object per turn. */
export function formatJson(a: AlfAction): string {
  switch (a.verb) {
    case 'take':
      return JSON.stringify({ action: 'take', object: a.obj, from: a.from });
    case 'put':
      return JSON.stringify({ action: 'put', object: a.obj, to: a.to });
    case 'clean':
    case 'heat':
    case 'cool':
      return JSON.stringify({ action: a.verb, object: a.obj, with: a.tool });
    case 'sanitize':
      return JSON.stringify({ action: 'sanitize', object: a.obj });
    case 'look':
    case 'inventory':
      return JSON.stringify({ action: a.verb });
    default:
      return JSON.stringify({ action: a.verb, target: a.target });
  }
}

export function formatAction(a: AlfAction, format: ActionFormat): string {
  return format === 'json' ? formatJson(a) : formatText(a);
}

const NAME = '([a-z]+ \\d+)';
const TEXT_PATTERNS: [RegExp, (m: RegExpMatchArray) => AlfAction][] = [
  [new RegExp(`^go to ${NAME}$`), (m) => ({ verb: 'go', target: m[1] })],
  [new RegExp(`^teleport to ${NAME}$`), (m) => ({ verb: 'teleport', target: m[1] })],
  [new RegExp(`^(open|close|use|examine) ${NAME}$`), (m) => ({ verb: m[1] as 'open', target: m[2] })],
  [new RegExp(`^take ${NAME} from ${NAME}$`), (m) => ({ verb: 'take', obj: m[1], from: m[2] })],
  [new RegExp(`^put ${NAME} in/on ${NAME}$`), (m) => ({ verb: 'put', obj: m[1], to: m[2] })],
  [
    new RegExp(`^(clean|heat|cool) ${NAME} with ${NAME}$`),
    (m) => ({ verb: m[1] as 'clean', obj: m[2], tool: m[3] }),
  ],
  [new RegExp(`^microwave-sanitize ${NAME}$`), (m) => ({ verb: 'sanitize', obj: m[1] })],
  [/^(look|inventory)$/, (m) => ({ verb: m[1] as 'look' })],
];

function parseText(line: string): AlfAction | null {
  for (const [re, build] of TEXT_PATTERNS) {
    const m = line.match(re);
    if (m) return build(m);
  }
  return null;
}

function parseJson(line: string): AlfAction | null {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  const s = (k: string): string => (typeof o[k] === 'string' ? (o[k] as string) : '');
  switch (s('action')) {
    case 'take':
      return { verb: 'take', obj: s('object'), from: s('from') };
    case 'put':
      return { verb: 'put', obj: s('object'), to: s('to') };
    case 'clean':
    case 'heat':
    case 'cool':
      return { verb: s('action') as 'clean', obj: s('object'), tool: s('with') };
    case 'sanitize':
      return { verb: 'sanitize', obj: s('object') };
    case 'look':
    case 'inventory':
      return { verb: s('action') as 'look' };
    case 'go':
    case 'teleport':
    case 'open':
    case 'close':
    case 'use':
    case 'examine':
      return { verb: s('action') as 'go', target: s('target') };
    default:
      return null;
  }
}

/** The command of an assistant turn: its last line (a "think:" line may precede it). */
export function commandLine(content: string): string {
  const lines = content.trim().split('\n');
  return lines[lines.length - 1].trim();
}

export function parseAction(content: string, format: ActionFormat): AlfAction | null {
  const line = commandLine(content);
  return format === 'json' ? parseJson(line) : parseText(line);
}

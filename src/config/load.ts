import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError, errorMessage } from '../errors.ts';
import { configSchema, type PrismConfig } from './schema.ts';

/**
 * Loads the config: defaults < YAML file < PRISM_* environment < CLI flags. Every key of the
 * schema has an environment variable: `PRISM_<SECTION>_<KEY>` in SCREAMING_SNAKE_CASE
 * (`consumer.highWatermark` → `PRISM_CONSUMER_HIGH_WATERMARK`); lists are comma-separated.
 * Invalid input → ConfigError (exit 2) naming the field and where its value came from.
 */
export interface LoadOptions {
  /** YAML file (`--config`); falls back to PRISM_CONFIG. */
  readonly file?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Dotted path → value or raw string, with the flag that set it (e.g. `--brokers`). */
  readonly overrides?: readonly ConfigOverride[];
}

export interface ConfigOverride {
  readonly path: string;
  /** A string is coerced to the key's type like an environment value. */
  readonly value: unknown;
  readonly source: string;
}

type Tree = Record<string, unknown>;

export function loadConfig(options: LoadOptions = {}): PrismConfig {
  const env = options.env ?? process.env;
  const provenance = new Map<string, string>();
  const merged: Tree = {};

  const file = options.file ?? env.PRISM_CONFIG;
  if (file !== undefined && file !== '') {
    const fromFile = readYaml(file);
    mergeInto(merged, fromFile, [], provenance, file);
  }
  for (const { path, name, value } of envEntries(env)) {
    setPath(merged, path, value);
    provenance.set(path.join('.'), `env ${name}`);
  }
  for (const o of options.overrides ?? []) {
    const path = o.path.split('.');
    const leaf = leafSchema(path);
    if (leaf === undefined)
      throw new ConfigError(`invalid config: ${o.path}: unknown key (from ${o.source})`);
    setPath(merged, path, typeof o.value === 'string' ? coerce(leaf, o.value) : o.value);
    provenance.set(o.path, o.source);
  }

  const result = configSchema.safeParse(merged);
  if (!result.success) throw new ConfigError(formatIssues(result.error.issues, provenance));
  return result.data;
}

function readYaml(file: string): Tree {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`config file ${file}: cannot read (${errorMessage(err)})`, { cause: err });
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`config file ${file}: not valid YAML: ${errorMessage(err)}`, { cause: err });
  }
  if (doc === null || doc === undefined) return {};
  if (!isTree(doc)) throw new ConfigError(`config file ${file}: the top level must be a mapping of sections`);
  return doc;
}

function isTree(v: unknown): v is Tree {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function mergeInto(
  target: Tree,
  src: Tree,
  prefix: string[],
  provenance: Map<string, string>,
  source: string,
): void {
  for (const [k, v] of Object.entries(src)) {
    const path = [...prefix, k];
    if (isTree(v)) {
      if (!isTree(target[k])) target[k] = {};
      mergeInto(target[k] as Tree, v, path, provenance, source);
    } else {
      target[k] = v;
      // Only values are attributed, so a default next to a file key is not blamed on the file.
      provenance.set(path.join('.'), source);
    }
  }
}

function setPath(target: Tree, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    if (!isTree(node[key])) node[key] = {};
    node = node[key] as Tree;
  }
  node[path[path.length - 1]] = value;
}

/** Unwraps default/optional/prefault/nullable to the type that values must have. */
function core(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (;;) {
    const def = s.def as { type: string; innerType?: z.ZodType };
    if (
      def.innerType !== undefined &&
      ['default', 'prefault', 'optional', 'nullable', 'readonly'].includes(def.type)
    )
      s = def.innerType;
    else return s;
  }
}

function leafSchema(path: readonly string[]): z.ZodType | undefined {
  let s: z.ZodType = configSchema;
  for (const key of path) {
    const c = core(s);
    if (!(c instanceof z.ZodObject)) return undefined;
    const next = (c.shape as Record<string, z.ZodType>)[key];
    if (next === undefined) return undefined;
    s = next;
  }
  const leaf = core(s);
  return leaf instanceof z.ZodObject ? undefined : leaf;
}

/** Turns an environment/flag string into the key's type; leaves it as-is when it does not fit (zod reports it). */
function coerce(leaf: z.ZodType, raw: string): unknown {
  const type = (leaf.def as { type: string }).type;
  if (type === 'array')
    return raw
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  if (type === 'number') return raw.trim() !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw;
  if (type === 'boolean') {
    const v = raw.trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(v)) return true;
    if (['false', '0', 'no', 'off'].includes(v)) return false;
  }
  return raw;
}

const snake = (k: string): string => k.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();

/** Every leaf key of the schema with its environment variable name. */
export function configKeys(): { path: string[]; env: string; leaf: z.ZodType }[] {
  const out: { path: string[]; env: string; leaf: z.ZodType }[] = [];
  const walk = (schema: z.ZodType, path: string[]): void => {
    const c = core(schema);
    if (c instanceof z.ZodObject) {
      for (const [k, v] of Object.entries(c.shape as Record<string, z.ZodType>)) walk(v, [...path, k]);
    } else {
      out.push({ path, env: `PRISM_${path.map(snake).join('_')}`, leaf: c });
    }
  };
  walk(configSchema, []);
  return out;
}

function envEntries(env: NodeJS.ProcessEnv): { path: string[]; name: string; value: unknown }[] {
  return configKeys().flatMap(({ path, env: name, leaf }) => {
    const raw = env[name];
    return raw === undefined || raw === '' ? [] : [{ path, name, value: coerce(leaf, raw) }];
  });
}

function formatIssues(issues: readonly z.core.$ZodIssue[], provenance: Map<string, string>): string {
  const from = (path: string): string => {
    const parts = path.split('.');
    for (let n = parts.length; n > 0; n -= 1) {
      const src = provenance.get(parts.slice(0, n).join('.'));
      if (src !== undefined) return ` (from ${src})`;
    }
    return '';
  };
  const lines = issues.flatMap((issue) => {
    const base = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((k) => {
        const p = base === '' ? k : `${base}.${k}`;
        return `${p}: unknown key${from(p)}`;
      });
    }
    const p = base === '' ? '(root)' : base;
    return [`${p}: ${issue.message}${from(base)}`];
  });
  return `invalid config: ${lines.join('; ')}`;
}

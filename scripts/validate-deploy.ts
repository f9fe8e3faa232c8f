/**
 * Offline validation of deploy/ (everything but deploy/local, which another tool owns):
 *  - docker-compose*.yml against the Compose Specification JSON schema shipped by the `dclint`
 *    npm package (node_modules/dclint/schemas/compose.schema.json), plus cross-references;
 *  - Kubernetes manifests against the strict Kubernetes JSON schemas vendored in
 *    tests/fixtures/k8s-schemas (see its README), plus cross-references (selectors, ConfigMaps, PVCs);
 *  - prism.yaml against the config schema of src/config, and the ConfigMap copy of it;
 *  - Dockerfiles with dockerfile-utils' validator and the rules this project needs.
 * No network. Usage: `npx tsx scripts/validate-deploy.ts [repoRoot]` (exit 1 on any finding).
 */
import { Ajv, type ValidateFunction, type ErrorObject } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { DockerfileParser, type Dockerfile } from 'dockerfile-ast';
import { validate as lintDockerfileText } from 'dockerfile-utils';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { z } from 'zod';
import { configSchema } from '../src/config/schema.ts';
import { inputSection } from '../src/config/input.ts';
import { scorerSection } from '../src/config/scorer.ts';
import { trainerSection } from '../src/config/trainer.ts';

export interface Finding {
  file: string;
  message: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const K8S_SCHEMAS = join(REPO, 'tests', 'fixtures', 'k8s-schemas');

function ajvErrors(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).slice(0, 5).map((e) => {
    const extra = e.keyword === 'additionalProperties' ? ` '${String(e.params.additionalProperty)}'` : '';
    return `${e.instancePath || '/'} ${e.message ?? e.keyword}${extra}`;
  });
}

// ---------------------------------------------------------------- files and YAML

/** Every .yml/.yaml under deploy/, except deploy/local/**. */
export function deployYamlFiles(root = REPO): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) {
        if (relative(join(root, 'deploy'), p) !== 'local') walk(p);
      } else if (/\.ya?ml$/.test(name)) out.push(p);
    }
  };
  walk(join(root, 'deploy'));
  return out;
}

/** All documents of a YAML text (merge keys `<<` resolved, as Compose does). */
export function parseYaml(text: string): { docs: unknown[]; errors: string[] } {
  const docs = parseAllDocuments(text, { merge: true, prettyErrors: false });
  const list = Array.isArray(docs) ? docs : [docs];
  const errors = list.flatMap((d) => d.errors.map((e) => e.message));
  return { docs: list.map((d) => d.toJS()).filter((d) => d !== null && d !== undefined), errors };
}

// ---------------------------------------------------------------- Compose

let composeValidate: ValidateFunction | undefined;

/** The Compose Specification schema, as shipped (draft-07) in the dclint package. */
export function composeSchemaPath(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('dclint/package.json')), 'schemas', 'compose.schema.json');
}

export function validateCompose(doc: unknown): string[] {
  if (!composeValidate) {
    const schema = JSON.parse(readFileSync(composeSchemaPath(), 'utf8')) as Obj;
    delete schema.$schema; // "https://json-schema.org/draft-07/schema" is not Ajv's draft-07 meta-schema id
    composeValidate = new Ajv({ allErrors: true, strict: false }).compile(schema);
  }
  if (!composeValidate(doc)) return ajvErrors(composeValidate.errors);
  return checkComposeRefs(doc as Obj);
}

/** What the schema cannot see: depends_on targets, named volumes, build files. */
function checkComposeRefs(doc: Obj, root = REPO): string[] {
  const out: string[] = [];
  const services = isObj(doc.services) ? doc.services : {};
  const volumes = isObj(doc.volumes) ? Object.keys(doc.volumes) : [];
  for (const [name, svc] of Object.entries(services)) {
    if (!isObj(svc)) continue;
    if (svc.image === undefined && svc.build === undefined) out.push(`service ${name}: needs image or build`);
    const deps = Array.isArray(svc.depends_on)
      ? svc.depends_on
      : isObj(svc.depends_on)
        ? Object.keys(svc.depends_on)
        : [];
    for (const d of deps)
      if (!(String(d) in services)) out.push(`service ${name}: depends_on unknown service ${String(d)}`);
    for (const v of Array.isArray(svc.volumes) ? svc.volumes : []) {
      if (typeof v !== 'string') continue;
      const src = v.split(':')[0];
      if (!src.startsWith('.') && !src.startsWith('/') && !volumes.includes(src)) {
        out.push(`service ${name}: volume ${src} is not declared under volumes:`);
      }
    }
    if (isObj(svc.build)) {
      const ctx = resolve(root, 'deploy', String(svc.build.context ?? '.'));
      const file = join(ctx, String(svc.build.dockerfile ?? 'Dockerfile'));
      if (!existsSync(file)) out.push(`service ${name}: build file ${relative(root, file)} does not exist`);
    }
  }
  return out;
}

// ---------------------------------------------------------------- Kubernetes

let k8sAjv: Ajv2020 | undefined;
const k8sValidators = new Map<string, ValidateFunction>();

/** deployment-apps-v1.json, configmap-v1.json, … (kubernetes-json-schema file naming). */
export function k8sSchemaFile(apiVersion: string, kind: string): string {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const g = group ? `-${group.split('.')[0]}` : '';
  return `${kind.toLowerCase()}${g}-${version}.json`;
}

export function validateK8s(doc: unknown): string[] {
  if (!isObj(doc) || typeof doc.apiVersion !== 'string' || typeof doc.kind !== 'string') {
    return ['not a Kubernetes object (apiVersion and kind are required)'];
  }
  const file = k8sSchemaFile(doc.apiVersion, doc.kind);
  let validate = k8sValidators.get(file);
  if (!validate) {
    const path = join(K8S_SCHEMAS, file);
    if (!existsSync(path)) {
      return [
        `no vendored schema for ${doc.apiVersion} ${doc.kind} (${file}): add it to tests/fixtures/k8s-schemas/vendor.py`,
      ];
    }
    if (!k8sAjv) {
      k8sAjv = new Ajv2020({ allErrors: true, strict: false, validateFormats: false });
      k8sAjv.addSchema(JSON.parse(readFileSync(join(K8S_SCHEMAS, '_definitions.json'), 'utf8')) as Obj);
    }
    validate = k8sAjv.compile(JSON.parse(readFileSync(path, 'utf8')) as Obj);
    k8sValidators.set(file, validate);
  }
  return validate(doc) ? [] : ajvErrors(validate.errors);
}

interface K8sObject {
  file: string;
  doc: Obj;
}

const get = (o: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>((v, k) => (isObj(v) ? v[k] : undefined), o);

function matches(selector: unknown, labels: unknown): boolean {
  if (!isObj(selector) || !isObj(labels) || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'Job', 'DaemonSet']);

/** Cross-object rules: selectors select, references resolve, the arbitrator asks for a GPU and is scraped. */
export function checkK8sRefs(objects: readonly K8sObject[]): Finding[] {
  const out: Finding[] = [];
  const named = (kind: string) =>
    new Set(objects.filter((o) => o.doc.kind === kind).map((o) => String(get(o.doc, 'metadata', 'name'))));
  const configMaps = named('ConfigMap');
  const claims = named('PersistentVolumeClaim');
  const accounts = named('ServiceAccount');
  const services = named('Service');
  const podLabels = objects
    .filter((o) => WORKLOADS.has(String(o.doc.kind)))
    .map((o) => get(o.doc, 'spec', 'template', 'metadata', 'labels'));

  for (const { file, doc } of objects) {
    const kind = String(doc.kind);
    const name = `${kind} ${String(get(doc, 'metadata', 'name'))}`;
    const add = (message: string) => out.push({ file, message: `${name}: ${message}` });
    if (kind === 'Service' || kind === 'PodDisruptionBudget') {
      const sel =
        kind === 'Service' ? get(doc, 'spec', 'selector') : get(doc, 'spec', 'selector', 'matchLabels');
      if (!podLabels.some((l) => matches(sel, l))) add('selector matches no Pod template');
    }
    if (!WORKLOADS.has(kind)) continue;
    const pod = get(doc, 'spec', 'template', 'spec');
    if (
      kind !== 'Job' &&
      !matches(
        get(doc, 'spec', 'selector', 'matchLabels'),
        get(doc, 'spec', 'template', 'metadata', 'labels'),
      )
    ) {
      add('spec.selector does not match the Pod template labels');
    }
    if (kind === 'StatefulSet' && !services.has(String(get(doc, 'spec', 'serviceName'))))
      add('serviceName names no Service');
    const sa = get(pod, 'serviceAccountName');
    if (sa !== undefined && !accounts.has(String(sa))) add(`serviceAccountName ${String(sa)} is not defined`);
    for (const v of (get(pod, 'volumes') as unknown[] | undefined) ?? []) {
      const cm = get(v, 'configMap', 'name');
      if (cm !== undefined && !configMaps.has(String(cm))) add(`volume uses unknown ConfigMap ${String(cm)}`);
      const pvc = get(v, 'persistentVolumeClaim', 'claimName');
      if (pvc !== undefined && !claims.has(String(pvc)))
        add(`volume uses unknown PersistentVolumeClaim ${String(pvc)}`);
    }
    const containers = [
      ...((get(pod, 'initContainers') as unknown[]) ?? []),
      ...((get(pod, 'containers') as unknown[]) ?? []),
    ];
    for (const c of containers) {
      for (const e of (get(c, 'envFrom') as unknown[] | undefined) ?? []) {
        const cm = get(e, 'configMapRef', 'name');
        if (cm !== undefined && !configMaps.has(String(cm)))
          add(`envFrom uses unknown ConfigMap ${String(cm)}`);
      }
    }
    if (kind !== 'Job') {
      const ann = get(doc, 'spec', 'template', 'metadata', 'annotations');
      if (get(ann, 'prometheus.io/scrape') !== 'true' || get(ann, 'prometheus.io/port') !== '9464') {
        add('Pod template lacks the prometheus.io/scrape and prometheus.io/port: "9464" annotations');
      }
    }
    if (get(doc, 'spec', 'template', 'metadata', 'labels', 'app.kubernetes.io/component') === 'arbitrator') {
      const main = (get(pod, 'containers') as unknown[])[0];
      if (
        get(main, 'resources', 'requests', 'nvidia.com/gpu') === undefined ||
        get(main, 'resources', 'limits', 'nvidia.com/gpu') === undefined
      ) {
        add('the arbitrator must request and limit nvidia.com/gpu');
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------- prism.yaml

/** Sections not (yet) composed into configSchema are checked against their own section schema. */
const SECTION_FALLBACKS: Record<string, z.ZodType> = {
  input: inputSection,
  scorer: scorerSection,
  trainer: trainerSection,
};

export function validatePrismConfig(doc: unknown): string[] {
  if (!isObj(doc)) return ['prism.yaml must be a mapping of sections'];
  const known = configSchema.shape as Record<string, z.ZodType>;
  const composed: Obj = {};
  const out: string[] = [];
  for (const [section, value] of Object.entries(doc)) {
    if (section in known) composed[section] = value;
    else if (section in SECTION_FALLBACKS) {
      const r = SECTION_FALLBACKS[section].safeParse(value);
      if (!r.success)
        out.push(...r.error.issues.map((i) => `${[section, ...i.path.map(String)].join('.')}: ${i.message}`));
    } else out.push(`${section}: unknown config section`);
  }
  const r = configSchema.safeParse(composed);
  if (!r.success)
    out.push(...r.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`));
  return out;
}

// ---------------------------------------------------------------- Dockerfiles

export interface DockerfileRules {
  /** Default image of the final stage (after ARG substitution). */
  finalBase: RegExp;
  /** Extra text the file must contain, with why. */
  mustContain?: [RegExp, string][];
}

function argDefaults(df: Dockerfile): Map<string, string> {
  const m = new Map<string, string>();
  for (const a of df.getInitialARGs()) {
    const p = a.getProperty();
    if (p?.getName() && p.getValue() !== null) m.set(p.getName(), p.getValue() as string);
  }
  return m;
}

export function lintDockerfile(text: string, rules: DockerfileRules, root = REPO): string[] {
  const out: string[] = [];
  for (const d of lintDockerfileText(text)) {
    if (d.severity === 1) out.push(`line ${d.range.start.line + 1}: ${d.message}`);
  }
  const df = DockerfileParser.parse(text);
  const froms = df.getFROMs();
  if (froms.length === 0) return [...out, 'no FROM'];
  const args = argDefaults(df);
  const final = froms[froms.length - 1];
  const image = (final.getImage() ?? '').replace(
    /\$\{?(\w+)\}?/g,
    (_, n: string) => args.get(n) ?? `<unset ${n}>`,
  );
  if (!rules.finalBase.test(image)) out.push(`final stage FROM ${image} does not match ${rules.finalBase}`);

  const startLine = final.getRange().start.line;
  const finalIns = df.getInstructions().filter((i) => i.getRange().start.line >= startLine);
  const inFinal = (kw: string) => finalIns.filter((i) => i.getKeyword() === kw);
  const user = inFinal('USER').pop()?.getArgumentsContent()?.trim();
  if (!user || /^(root|0)(:|$)/.test(user)) out.push('final stage must switch to a non-root USER');
  const health = inFinal('HEALTHCHECK').pop()?.getArgumentsContent() ?? '';
  if (!/9464/.test(health) || !/\/healthz/.test(health))
    out.push('final stage needs a HEALTHCHECK on :9464/healthz');
  if (!inFinal('EXPOSE').some((i) => /\b9464\b/.test(i.getArgumentsContent() ?? '')))
    out.push('final stage must EXPOSE 9464');
  if (!inFinal('ENV').some((i) => /PRISM_USE_DIST=1/.test(i.getArgumentsContent() ?? '')))
    out.push('final stage must set PRISM_USE_DIST=1');
  const json = (kw: string): unknown => {
    try {
      return JSON.parse(inFinal(kw).pop()?.getArgumentsContent() ?? 'null');
    } catch {
      return null;
    }
  };
  if (
    JSON.stringify([json('ENTRYPOINT'), json('CMD')]) !== JSON.stringify([['node', 'bin/prism.mjs'], ['run']])
  ) {
    out.push('final stage must be ENTRYPOINT ["node", "bin/prism.mjs"] with CMD ["run"]');
  }
  for (const [re, why] of [
    [/npm ci --omit=dev/, 'production dependencies must come from `npm ci --omit=dev`'],
    [/npm run build/, 'TypeScript must be compiled (`npm run build`)'],
    ...(rules.mustContain ?? []),
  ] as [RegExp, string][]) {
    if (!re.test(text)) out.push(why);
  }
  // COPY sources from the build context must exist (catches renamed folders).
  for (const c of df.getCOPYs()) {
    if (c.getFromFlag()) continue;
    const parts = (c.getArguments() ?? []).map((a) => a.getValue());
    for (const src of parts.slice(0, -1)) {
      if (!existsSync(join(root, src))) out.push(`COPY source ${src} does not exist in the build context`);
    }
  }
  return out;
}

export const DOCKERFILE_RULES: Record<string, DockerfileRules> = {
  'deploy/Dockerfile': { finalBase: /^node:20-bookworm-slim$/ },
  'deploy/Dockerfile.gpu': {
    finalBase: /^nvidia\/cuda:11\.2\.2-cudnn8-runtime-ubuntu20\.04$/,
    mustContain: [
      [/ARG TFJS_GPU=/, 'the GPU route must be a build arg (TFJS_GPU)'],
      [
        /setup-native\.mjs --gpu-only/,
        'the CUDA 12 route (scripts/setup-native.mjs --gpu-only) must be available',
      ],
    ],
  },
};

// ---------------------------------------------------------------- everything

export function validateDeploy(root = REPO): { findings: Finding[]; checked: string[] } {
  const findings: Finding[] = [];
  const checked: string[] = [];
  const k8s: K8sObject[] = [];
  let prismYaml: string | undefined;
  let configMapYaml: string | undefined;

  for (const path of deployYamlFiles(root)) {
    const file = relative(root, path);
    checked.push(file);
    const add = (message: string) => findings.push({ file, message });
    const text = readFileSync(path, 'utf8');
    const { docs, errors } = parseYaml(text);
    errors.forEach((e) => add(`YAML: ${e}`));
    if (/(^|\/)(docker-)?compose[^/]*\.ya?ml$/.test(file)) {
      docs.forEach((d) => validateCompose(d).forEach(add));
    } else if (file.endsWith('/prism.yaml') || file === 'deploy/prism.yaml') {
      prismYaml = text;
      docs.forEach((d) => validatePrismConfig(d).forEach((m) => add(`config ${m}`)));
    } else {
      docs.forEach((d, i) => {
        validateK8s(d).forEach((m) => add(`document ${i + 1}: ${m}`));
        if (isObj(d)) k8s.push({ file, doc: d });
        if (isObj(d) && d.kind === 'ConfigMap' && typeof get(d, 'data', 'prism.yaml') === 'string') {
          configMapYaml = get(d, 'data', 'prism.yaml') as string;
          parseYaml(configMapYaml).docs.forEach((c) =>
            validatePrismConfig(c).forEach((m) => add(`ConfigMap prism.yaml ${m}`)),
          );
        }
      });
    }
  }
  findings.push(...checkK8sRefs(k8s));
  if (prismYaml !== undefined && configMapYaml !== undefined && prismYaml !== configMapYaml) {
    findings.push({ file: 'deploy/k8s', message: 'the ConfigMap prism.yaml differs from deploy/prism.yaml' });
  }
  for (const [file, rules] of Object.entries(DOCKERFILE_RULES)) {
    checked.push(file);
    const path = join(root, file);
    if (!existsSync(path)) findings.push({ file, message: 'missing' });
    else
      lintDockerfile(readFileSync(path, 'utf8'), rules, root).forEach((message) =>
        findings.push({ file, message }),
      );
  }
  return { findings, checked };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const { findings, checked } = validateDeploy(process.argv[2] ? resolve(process.argv[2]) : REPO);
  for (const f of findings) process.stderr.write(`${f.file}: ${f.message}\n`);
  process.stdout.write(`validate-deploy: ${checked.length} files, ${findings.length} problem(s)\n`);
  process.exitCode = findings.length > 0 ? 1 : 0;
}

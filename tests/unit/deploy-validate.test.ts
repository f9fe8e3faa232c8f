import { describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DOCKERFILE_RULES,
  checkK8sRefs,
  deployYamlFiles,
  lintDockerfile,
  parseYaml,
  validateCompose,
  validateDeploy,
  validateK8s,
  validatePrismConfig,
} from '../../scripts/validate-deploy.ts';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- test fixtures are mutated freely

const ROOT = join(import.meta.dirname, '..', '..');
const read = (rel: string) => readFileSync(join(ROOT, rel), 'utf8');
const docsOf = (rel: string) => parseYaml(read(rel)).docs as Obj[];
const arbitrator = () => structuredClone(docsOf('deploy/k8s/arbitrator.yaml'));
const compose = () => structuredClone(docsOf('deploy/docker-compose.yml')[0]);

describe('deploy/ validates offline', () => {
  it('has no findings across every YAML in deploy/ (but deploy/local) and both Dockerfiles', () => {
    const { findings, checked } = validateDeploy(ROOT);
    expect(findings).toEqual([]);
    const yaml = deployYamlFiles(ROOT).map((p) => p.slice(ROOT.length + 1));
    expect(yaml.some((f) => f.startsWith('deploy/local/'))).toBe(false);
    expect(checked).toEqual(expect.arrayContaining([...yaml, 'deploy/Dockerfile', 'deploy/Dockerfile.gpu']));
    expect(yaml).toEqual(
      expect.arrayContaining([
        'deploy/docker-compose.yml',
        'deploy/prism.yaml',
        'deploy/k8s/arbitrator.yaml',
      ]),
    );
  });

  it('ships the Kubernetes objects the deployment needs', () => {
    const kinds = deployYamlFiles(ROOT)
      .filter((p) => p.includes('/k8s/'))
      .flatMap((p) => parseYaml(readFileSync(p, 'utf8')).docs as Obj[])
      .map((d) => `${d.kind}/${d.metadata.name}`);
    expect(kinds).toEqual(
      expect.arrayContaining([
        'Deployment/prism-arbitrator',
        'Service/prism-arbitrator',
        'PodDisruptionBudget/prism-arbitrator',
        'StatefulSet/prism-trainer-sft',
        'StatefulSet/prism-trainer-rl',
        'ConfigMap/prism-config',
        'Job/prism-topics-init',
        'PersistentVolumeClaim/prism-data',
      ]),
    );
    const deploy = arbitrator()[0];
    expect(deploy.spec.template.spec.containers[0].resources.requests['nvidia.com/gpu']).toBe('1');
  });

  it('runs Kafka in KRaft mode with the arbitrator and both trainers in Compose', () => {
    const c = compose();
    expect(c.services.kafka.image).toBe('apache/kafka:3.9.1');
    expect(c.services.kafka.environment.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    expect(c.services.arbitrator.command).toEqual(['run']);
    expect(c.services['trainer-sft'].command).toEqual(['train', 'sft']);
    expect(c.services['trainer-rl'].command).toEqual(['train', 'rl']);
    expect(c.services['topics-init'].command.slice(0, 2)).toEqual(['topics', 'create']);
  });
});

describe('deploy validation rejects broken files', () => {
  it('rejects a Deployment with a misspelt field or a wrong type (strict Kubernetes schema)', () => {
    const typo = arbitrator()[0];
    typo.spec.replica = 3;
    expect(validateK8s(typo).join()).toMatch(/additional properties 'replica'/);
    const wrongType = arbitrator()[0];
    wrongType.spec.replicas = 'three';
    expect(validateK8s(wrongType).join()).toMatch(/replicas must be integer/);
    expect(validateK8s({ apiVersion: 'v1', kind: 'Nonsense' }).join()).toMatch(/no vendored schema/);
  });

  it('rejects a Service that selects nothing and an arbitrator without a GPU', () => {
    const [deploy, service] = arbitrator();
    service.spec.selector = { 'app.kubernetes.io/component': 'nobody' };
    delete deploy.spec.template.spec.containers[0].resources.limits['nvidia.com/gpu'];
    const msgs = checkK8sRefs([
      { file: 'a', doc: deploy },
      { file: 'b', doc: service },
    ]).map((f) => f.message);
    expect(msgs).toContain('Service prism-arbitrator: selector matches no Pod template');
    expect(msgs).toContain(
      'Deployment prism-arbitrator: the arbitrator must request and limit nvidia.com/gpu',
    );
  });

  it('rejects a Compose file with an unknown key, a bad type or a dangling depends_on', () => {
    const typo = compose();
    typo.services.kafka.imagee = 'apache/kafka';
    expect(validateCompose(typo).join()).toMatch(/additional properties 'imagee'/);
    const badType = compose();
    badType.services.arbitrator.ports = 9464;
    expect(validateCompose(badType).join()).toMatch(/ports must be array/);
    const dangling = compose();
    dangling.services.arbitrator.depends_on = { zookeeper: { condition: 'service_healthy' } };
    expect(validateCompose(dangling)).toEqual(['service arbitrator: depends_on unknown service zookeeper']);
  });

  it('rejects prism.yaml with unknown keys or sections', () => {
    expect(validatePrismConfig({ kafka: { brokerz: ['a:1'] } }).join()).toMatch(/brokerz/);
    expect(validatePrismConfig({ trainer: { sft: { lr: 1 } } }).join()).toMatch(/trainer\.sft/);
    expect(validatePrismConfig({ nonsense: {} })).toEqual(['nonsense: unknown config section']);
  });

  it('rejects a Dockerfile with an unknown instruction or running as root', () => {
    const good = read('deploy/Dockerfile');
    expect(lintDockerfile(good, DOCKERFILE_RULES['deploy/Dockerfile'])).toEqual([]);
    expect(
      lintDockerfile(
        good.replace('RUN npm run build', 'RUNN npm run build'),
        DOCKERFILE_RULES['deploy/Dockerfile'],
      ).join(),
    ).toMatch(/Unknown instruction: RUNN/);
    expect(
      lintDockerfile(good.replace('USER prism', 'USER root'), DOCKERFILE_RULES['deploy/Dockerfile']),
    ).toContain('final stage must switch to a non-root USER');
    const gpu = read('deploy/Dockerfile.gpu').replace('ARG TFJS_GPU=prebuilt', '');
    expect(lintDockerfile(gpu, DOCKERFILE_RULES['deploy/Dockerfile.gpu'])).toContain(
      'the GPU route must be a build arg (TFJS_GPU)',
    );
  });

  it('fails the whole check when a broken manifest is added to deploy/', () => {
    const root = mkdtempSync(join(tmpdir(), 'prism-deploy-'));
    try {
      cpSync(join(ROOT, 'deploy'), join(root, 'deploy'), { recursive: true });
      writeFileSync(
        join(root, 'deploy', 'k8s', 'broken.yaml'),
        'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: broken}\nspec:\n  replicas: many\n',
      );
      const { findings } = validateDeploy(root);
      const broken = findings.filter((f) => f.file === 'deploy/k8s/broken.yaml');
      expect(broken.map((f) => f.message).join('\n')).toMatch(/replicas must be integer/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('rejects a ConfigMap prism.yaml that drifted from deploy/prism.yaml', () => {
    const root = mkdtempSync(join(tmpdir(), 'prism-deploy-'));
    try {
      cpSync(join(ROOT, 'deploy'), join(root, 'deploy'), { recursive: true });
      const p = join(root, 'deploy', 'prism.yaml');
      writeFileSync(p, readFileSync(p, 'utf8').replace('window: 2048', 'window: 4096'));
      expect(validateDeploy(root).findings.map((f) => f.message)).toContain(
        'the ConfigMap prism.yaml differs from deploy/prism.yaml',
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

import { describe, expect, it } from 'vitest';
import { describeAdapter } from '../../src/backend/webgpu.ts';
import { PipelineMetrics, scorerInfoLabels } from '../../src/metrics/pipeline-metrics.ts';

/** The prism_scorer_info series of a scrape, as raw lines. */
async function infoLines(m: PipelineMetrics): Promise<string[]> {
  return (await m.registry.metrics()).split('\n').filter((l) => l.startsWith('prism_scorer_info{'));
}

const h200 = describeAdapter({
  vendor: 'nvidia',
  architecture: 'hopper',
  device: '',
  description: 'NVIDIA H200',
  fallback: false,
});

describe('prism_scorer_info', () => {
  it('names the backend and the webgpu adapter the scorer runs on', async () => {
    const m = new PipelineMetrics({}, { defaultMetrics: false });
    m.setScorerInfo({ backend: 'webgpu', adapter: h200, probeModelId: 'probe', probeModelVersion: 'v1' });
    expect(await infoLines(m)).toEqual([
      'prism_scorer_info{backend="webgpu",adapter="nvidia hopper · NVIDIA H200",probe_model="probe",probe_version="v1"} 1',
    ]);
  });

  it('has an empty adapter on a CPU backend', () => {
    expect(
      scorerInfoLabels({ backend: 'tensorflow', probeModelId: 'probe', probeModelVersion: 'v1' }),
    ).toEqual({ backend: 'tensorflow', adapter: '', probe_model: 'probe', probe_version: 'v1' });
  });

  it('keeps one series when a followed checkpoint swaps in, with the same backend and adapter', async () => {
    const m = new PipelineMetrics({}, { defaultMetrics: false });
    const scorer = { backend: 'webgpu', adapter: h200, probeModelId: 'probe', probeModelVersion: 'v1' };
    m.setScorerInfo(scorer);
    m.setScorerInfo(scorer, { modelId: 'probe', version: 'v2' });
    expect(await infoLines(m)).toEqual([
      'prism_scorer_info{backend="webgpu",adapter="nvidia hopper · NVIDIA H200",probe_model="probe",probe_version="v2"} 1',
    ]);
  });
});

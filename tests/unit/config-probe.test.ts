import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { ConfigError } from '../../src/errors.ts';
import { buildTopologyPreview } from '../../streams/preview.ts';

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('probe config', () => {
  it('is frozen by default, as in the paper', () => {
    expect(loadConfig({ env: {} }).probe).toEqual({ mode: 'frozen' });
  });

  it('reads PRISM_PROBE_MODE and PRISM_PROBE_FOLLOW_MODEL_ID', () => {
    const cfg = loadConfig({
      env: { PRISM_PROBE_MODE: 'follow', PRISM_PROBE_FOLLOW_MODEL_ID: 'prism-sft' },
    });
    expect(cfg.probe).toEqual({ mode: 'follow', followModelId: 'prism-sft' });
  });

  it('refuses follow mode without a model id to follow, naming probe.followModelId', () => {
    const err = configError(() => loadConfig({ env: { PRISM_PROBE_MODE: 'follow' } }));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(/probe\.followModelId: required when probe\.mode is "follow"/);
  });

  it('refuses follow mode with a scorer that has no weights to swap, naming probe.mode and scorer.kind', () => {
    const err = configError(() =>
      loadConfig({
        env: {
          PRISM_PROBE_MODE: 'follow',
          PRISM_PROBE_FOLLOW_MODEL_ID: 'prism-sft',
          PRISM_SCORER_KIND: 'deterministic',
        },
      }),
    );
    expect(err.message).toMatch(
      /probe\.mode: "follow" requires scorer\.kind "prism".*scorer\.kind is "deterministic" \(from env PRISM_PROBE_MODE\)/,
    );
  });

  it('refuses an unknown mode and a model id that cannot be a ModelUpdate key', () => {
    expect(configError(() => loadConfig({ env: { PRISM_PROBE_MODE: 'live' } })).message).toMatch(
      /probe\.mode: .*\(from env PRISM_PROBE_MODE\)/,
    );
    expect(
      configError(() =>
        loadConfig({ env: { PRISM_PROBE_MODE: 'follow', PRISM_PROBE_FOLLOW_MODEL_ID: 'a b' } }),
      ).message,
    ).toMatch(/probe\.followModelId: letters, digits/);
  });

  it('shows the swap point in `prism run --describe`', () => {
    const follow = loadConfig({
      env: { PRISM_PROBE_MODE: 'follow', PRISM_PROBE_FOLLOW_MODEL_ID: 'prism-sft' },
    });
    expect(buildTopologyPreview(follow)).toMatch(/probe: follow prism-sft .*swaps between micro-batches/);
    expect(buildTopologyPreview(loadConfig({ env: {} }))).toMatch(/→ score .*probe: frozen/);
  });
});

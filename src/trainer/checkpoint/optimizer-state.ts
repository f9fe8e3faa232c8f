import * as tf from '@tensorflow/tfjs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeSafetensors, parseSafetensors } from '../../model/safetensors.ts';
import type { AdamW, AdamWState } from '../optim/adamw.ts';

export const OPTIMIZER_FILE = 'optimizer.safetensors';

/** Writes AdamW moments as `m.<weight name>` / `v.<weight name>` (fp32) with the step in the metadata. */
export async function writeOptimizerState(optimizer: AdamW, dir: string): Promise<string> {
  const state = optimizer.getState();
  try {
    const tensors = [];
    for (const [prefix, map] of [
      ['m', state.m],
      ['v', state.v],
    ] as const) {
      for (const [name, t] of [...map].sort(([a], [b]) => (a < b ? -1 : 1))) {
        tensors.push({ name: `${prefix}.${name}`, shape: t.shape, data: (await t.data()) as Float32Array });
      }
    }
    const bytes = encodeSafetensors(tensors, {
      metadata: { format: 'prism-adamw', step: String(state.step) },
    });
    await writeFile(join(dir, OPTIMIZER_FILE), bytes);
    return OPTIMIZER_FILE;
  } finally {
    for (const t of [...state.m.values(), ...state.v.values()]) t.dispose();
  }
}

/** Reads a file written by writeOptimizerState into an AdamW state (caller disposes via setState + dispose). */
export async function readOptimizerState(path: string): Promise<AdamWState> {
  const file = parseSafetensors(await readFile(path), path);
  const m = new Map<string, tf.Tensor>();
  const v = new Map<string, tf.Tensor>();
  for (const [name, e] of file.entries) {
    const dot = name.indexOf('.');
    const kind = name.slice(0, dot);
    const weight = name.slice(dot + 1);
    const t = tf.tensor(file.read(name), e.shape, 'float32');
    if (kind === 'm') m.set(weight, t);
    else if (kind === 'v') v.set(weight, t);
    else t.dispose();
  }
  return { step: Number(file.metadata.step ?? '0'), m, v };
}

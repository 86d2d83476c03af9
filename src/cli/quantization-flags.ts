// `--quantization` and `--oversample`, read the same way by `ov-memory score` and `ov-memory eval`.
import { DEFAULTS } from '../index.js';
import { type Quantization, QUANTIZATIONS } from '../engine/quantize.js';

export interface QuantizationSettings {
  quantization: Quantization;
  /** Absent: the store's default for the quantization. */
  oversample?: number;
}

/** The settings the two flags give, or the problem with them (for the command's usage line). */
export function quantizationFlags(quantization: string, oversample: string | undefined): QuantizationSettings | { problem: string } {
  if (!(QUANTIZATIONS as readonly string[]).includes(quantization)) return { problem: `--quantization must be none, int8 or binary, got ${quantization}` };
  const settings: QuantizationSettings = { quantization: quantization as Quantization };
  if (oversample === undefined) return settings;
  const value = Number(oversample);
  if (!(value >= 1 && value <= DEFAULTS.maxOversample)) return { problem: `--oversample must be a number from 1 to ${DEFAULTS.maxOversample}, got ${oversample}` };
  if (settings.quantization === 'none') return { problem: '--oversample needs --quantization int8 or binary (float32 rows are scanned exactly)' };
  return { ...settings, oversample: value };
}

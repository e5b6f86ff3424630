// The logging and metrics ports the functions' cores write to (Powertools' Logger and Metrics
// satisfy them; a command or a test passes its own), and how an error becomes log keys.
import { describeError } from './errors.js';

export interface Logger {
  info(message: string, extra: Record<string, unknown>): void;
  warn(message: string, extra: Record<string, unknown>): void;
  error(message: string, extra: Record<string, unknown>): void;
}

export interface Metrics {
  addMetric(name: string, unit: 'Count' | 'Seconds', value: number): void;
}

/**
 * The reportable part of an error as log keys. Its message goes under `errorMessage`: Powertools
 * Logger keeps its own `message` key and would silently drop the error's.
 */
export function errorFields(error: unknown): {
  errorType: string;
  errorMessage: string;
  tiktokCode?: number;
} {
  const { message, ...rest } = describeError(error);
  return { ...rest, errorMessage: message };
}

// Reading environment variables into a configuration: every problem is collected first, so
// one error names all of them instead of making a person fix them one deployment at a time.
import { checkBaseUrl } from './base-url.js';
import { ConfigurationError } from './errors.js';

/** An environment as `process.env` holds it, or as a test or a command passes it. */
export type Env = Readonly<Record<string, string | undefined>>;

/** Reads settings from one environment; each reader records what is wrong in `problems`. */
export interface EnvReader {
  /** What is wrong so far, in the order found. */
  readonly problems: string[];
  /** The value without surrounding blanks; undefined when unset or blank. */
  text(name: string): string | undefined;
  /** A value that must be set; '' (and a problem) when it is not. */
  required(name: string): string;
  /** A whole number from `min` to `max`; `fallback` when unset. */
  integer(name: string, fallback: number, min: number, max: number): number;
  /** An https URL (http on loopback), `fallback` when unset. */
  baseUrl(name: string, fallback: string): string;
  /** Throws ConfigurationError naming every problem, if there is any. */
  check(): void;
}

/** A reader of `env`, adding to `problems` (those another reader found, if any). */
export function readEnv(env: Env, problems: string[] = []): EnvReader {
  const text = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  return {
    problems,
    text,
    required: (name) => {
      const value = text(name);
      if (value === undefined) problems.push(`${name} is required`);
      return value ?? '';
    },
    integer: (name, fallback, min, max) => {
      const value = text(name);
      if (value === undefined) return fallback;
      const problem = wholeNumberProblem(name, value, min, max);
      if (problem !== undefined) problems.push(problem);
      return Number(value);
    },
    baseUrl: (name, fallback) => {
      const value = text(name) ?? fallback;
      const problem = checkBaseUrl(value);
      if (problem !== undefined) problems.push(`${name} ${problem}`);
      return value;
    },
    check: () => {
      if (problems.length > 0) {
        throw new ConfigurationError(`invalid configuration: ${problems.join('; ')}`);
      }
    },
  };
}

/** What is wrong with `value` as the setting `name`, a whole number from `min` to `max`. */
export function wholeNumberProblem(
  name: string,
  value: string,
  min: number,
  max: number,
): string | undefined {
  const parsed = Number(value);
  return /^\d+$/.test(value) && parsed >= min && parsed <= max
    ? undefined
    : `${name} must be a whole number from ${min} to ${max}`;
}

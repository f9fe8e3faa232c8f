import { inspect } from 'node:util';

export const REDACTED = '[redacted]';

/**
 * A secret value (password, token) that never prints: JSON, string conversion and util.inspect
 * all give "[redacted]", so a config object can be logged or printed without leaking it.
 * Read the value only where it is used (`reveal()`).
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}

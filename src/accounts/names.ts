import { randomInt } from 'node:crypto';

/** Names of accounts, credentials and API keys: safe in URLs, shell arguments and logs. */
export const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const NAME_RULE = "use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit";

/** Lowercase without look-alikes (l, o, 0, 1), so an id read aloud or retyped survives. */
export const ID_ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789';
export const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Uniform over the alphabet (randomInt rejects biased draws, unlike `byte % length`). */
export function randomString(alphabet: string, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

export type AccountsErrorCode = 'unknown_account' | 'invalid_name' | 'name_taken' | 'invalid_limit' | 'invalid_scope';

/** A refusal with a plain-words message and a stable code the CLI and the HTTP API map to their own. */
export class AccountsError extends Error {
  constructor(
    readonly code: AccountsErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'AccountsError';
  }
}

import { readFileSync } from 'node:fs';
import { SCHEMA, type ConfigKey, type HeraldConfig } from './schema.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface ConfigSources {
  env?: NodeJS.ProcessEnv;
  /** Path of a JSON config file (keys as in `herald config print --json`). HERALD_CONFIG when unset. */
  file?: string;
  /** Overrides from CLI flags, by key. */
  overrides?: Partial<Record<ConfigKey, string>>;
}

export type ConfigOrigin = 'default' | 'file' | 'env' | 'flag';

/** Resolves defaults → file → environment → CLI flags. Unknown keys and bad values are errors. */
export function loadConfig(sources: ConfigSources = {}): { config: HeraldConfig; origins: Record<ConfigKey, ConfigOrigin> } {
  const env = sources.env ?? process.env;
  const keys = Object.keys(SCHEMA) as ConfigKey[];
  const raw = {} as Record<ConfigKey, string>;
  const origins = {} as Record<ConfigKey, ConfigOrigin>;
  for (const k of keys) {
    raw[k] = SCHEMA[k].default;
    origins[k] = 'default';
  }

  const file = sources.file ?? env.HERALD_CONFIG;
  if (file) {
    let data: unknown;
    try {
      data = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
    }
    if (!data || typeof data !== 'object' || Array.isArray(data)) throw new ConfigError(`config file ${file} must hold a JSON object`);
    for (const [k, v] of Object.entries(data)) {
      if (!(k in SCHEMA)) throw new ConfigError(`unknown setting "${k}" in ${file}; known: ${keys.join(', ')}`);
      raw[k as ConfigKey] = Array.isArray(v) ? v.join(',') : String(v);
      origins[k as ConfigKey] = 'file';
    }
  }

  const known = new Set(keys.map((k) => SCHEMA[k].env));
  known.add('HERALD_CONFIG');
  for (const name of Object.keys(env)) {
    // HERALD_TEST_* belongs to the test suite (HERALD_TEST_STRICT, HERALD_TEST_KEEP_TMP).
    if (name.startsWith('HERALD_') && !name.startsWith('HERALD_TEST_') && !known.has(name)) throw new ConfigError(`unknown environment variable ${name}; see docs/configuration.md`);
  }
  for (const k of keys) {
    const v = env[SCHEMA[k].env];
    if (v !== undefined) {
      raw[k] = v;
      origins[k] = 'env';
    }
  }
  for (const [k, v] of Object.entries(sources.overrides ?? {})) {
    if (!(k in SCHEMA)) throw new ConfigError(`unknown setting "${k}"`);
    if (v !== undefined) {
      raw[k as ConfigKey] = v;
      origins[k as ConfigKey] = 'flag';
    }
  }

  const config = {} as Record<ConfigKey, unknown>;
  for (const k of keys) {
    try {
      config[k] = SCHEMA[k].parse(raw[k]);
    } catch (err) {
      throw new ConfigError(`${SCHEMA[k].env}: ${(err as Error).message}`);
    }
  }
  if (!!config.tlsCert !== !!config.tlsKey) throw new ConfigError('HERALD_TLS_CERT and HERALD_TLS_KEY must be set together');
  return { config: config as HeraldConfig, origins };
}

/** The effective config as plain values (passwords in the smart host and database URLs masked). */
export function describeConfig(config: HeraldConfig): Record<ConfigKey, unknown> {
  const out = {} as Record<ConfigKey, unknown>;
  for (const k of Object.keys(SCHEMA) as ConfigKey[]) {
    const v = config[k] as unknown;
    if (v instanceof URL || (k === 'databaseUrl' && typeof v === 'string')) {
      const masked = new URL(String(v));
      if (masked.password) masked.password = '****';
      out[k] = masked.href;
    } else if (Array.isArray(v)) {
      out[k] = v.map((x) => (typeof x === 'object' && x && 'text' in x ? (x as { text: string }).text : x));
    } else out[k] = v ?? null;
  }
  return out;
}

/** The config as plain data that can cross to another thread (structured clone has no URL). */
export type PortableConfig = Omit<HeraldConfig, 'smartHost'> & { smartHost?: string };

export function toPortableConfig(config: HeraldConfig): PortableConfig {
  return { ...config, smartHost: config.smartHost?.href };
}

export function fromPortableConfig(portable: PortableConfig): HeraldConfig {
  return { ...portable, smartHost: portable.smartHost ? new URL(portable.smartHost) : undefined };
}

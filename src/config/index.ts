/**
 * config — the one schema of Herald's settings: defaults → config file → HERALD_* environment →
 * CLI flags. Unknown keys are errors, every value is parsed and bounded once, here.
 */
export { SCHEMA, ROLES, type Role, type ConfigKey, type HeraldConfig } from './schema.js';
export { loadConfig, describeConfig, toPortableConfig, fromPortableConfig, ConfigError, type ConfigOrigin, type ConfigSources, type PortableConfig } from './load.js';

/**
 * The URL to start a worker thread on one of Herald's modules: the module itself in the compiled
 * build; run from the TypeScript sources (tests, benchmarks), a bootstrap that registers tsx
 * first, because Node 20 does not carry a parent's module hooks into worker threads.
 * `sibling` is the module's name without extension, relative to `fromUrl` (an import.meta.url).
 */
export function threadEntry(fromUrl: string, sibling: string): URL {
  if (!fromUrl.endsWith('.ts')) return new URL(`${sibling}.js`, fromUrl);
  const module = new URL(`${sibling}.ts`, fromUrl);
  const tsx = import.meta.resolve('tsx/esm/api');
  const code = `import { register } from ${JSON.stringify(tsx)}; register(); await import(${JSON.stringify(module.href)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}

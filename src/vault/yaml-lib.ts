// The `yaml` library, loaded on first use. Most notes never need it (frontmatter-fast.ts reads
// them), and `list` or `show` should not pay its ~40 ms of start-up for the few that do.

type YamlLib = typeof import('yaml');
let lib: YamlLib | undefined;

export function yamlLib(): YamlLib {
  // `yaml` is CommonJS: require gives the same instance an ESM import would.
  lib ??= process.getBuiltinModule('node:module').createRequire(import.meta.url)('yaml') as YamlLib;
  return lib;
}

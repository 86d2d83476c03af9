// The layering of docs/ARCHITECTURE.md, checked by `npm test` (dependency-cruiser): a folder of src/
// imports only from itself and from the folders below it in LAYERS; no import circles; the
// platform folder is a leaf of facts. Type-only imports of src/types.ts (every public type) are
// allowed from anywhere, as types.ts itself imports only types from below.
const LAYERS = [
  'cli', 'adapters', 'embedders',
  '(index|internal|types|memory|opening|parts|operations|write-path)\\.ts', 'embedding',
  'runtime', 'config', 'store', 'retrieval', 'graph', 'metadata', 'persistence', 'engine', 'resilience', 'observability', 'platform',
];
const at = (layer) => (layer.endsWith('.ts') ? `^src/${layer}$` : `^src/${layer}/`);

const layering = LAYERS.slice(1).map((layer, i) => ({
  name: `layer-${layer.replace(/\W+/g, '-')}`,
  comment: `src/${layer} may not import a folder above it (${LAYERS.slice(0, i + 1).join(', ')})`,
  severity: 'error',
  from: { path: at(layer), pathNot: '^src/internal\\.ts$' },
  to: {
    path: LAYERS.slice(0, i + 1).map(at).join('|'),
    pathNot: '^src/types\\.ts$',
  },
}));

module.exports = {
  forbidden: [
    ...layering,
    {
      name: 'types-only-from-anywhere',
      comment: 'src/types.ts is imported for its types only',
      severity: 'error',
      from: { pathNot: '^src/(index|memory|internal)\\.ts$' },
      to: { path: '^src/types\\.ts$', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'platform-is-a-leaf',
      comment: 'platform/ answers questions; it imports nothing of the library',
      severity: 'error',
      from: { path: '^src/platform/' },
      to: { path: '^src/', pathNot: '^src/platform/' },
    },
    {
      name: 'library-never-imports-cli',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(cli/|internal\\.ts$)' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true, dependencyTypesNot: ['core'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.d\\.ts$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    moduleSystems: ['es6'],
  },
};

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The module rules of ../shared/ARCHITECTURE.md "Contexts as modules", checked on the import graph: a rule
// broken by a new import fails here, not in a review.

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const ROLES = ['commands', 'projections', 'queries', 'sagas', 'gateway', 'schemas', 'ops', 'runtime'] as const;

function sourcesUnder(folder: string): string[] {
  const dir = join(root, folder);
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourcesUnder(relative(root, path));
    return path.endsWith('.ts') ? [relative(root, path)] : [];
  });
}

/** The repository-relative files a module imports (relative specifiers only; packages are not ours). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const specifiers = [...text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"](\.{1,2}\/[^'"]+)['"]/g)];
  return specifiers.map((m) => relative(root, resolve(dirname(join(root, file)), m[1]!)).replace(/\.js$/, '.ts'));
}

/** The roles whose folders hold one folder per context. */
const CONTEXT_ROLES = ['commands', 'projections', 'queries', 'sagas', 'gateway', 'schemas'] as const;

const graph = ROLES.flatMap((role) => sourcesUnder(role)).map((file) => ({ file, imports: importsOf(file) }));
const under = (path: string, ...folders: string[]) => folders.some((f) => path.startsWith(`${f}/`));

/** Every import from a file under `from` into a file under `into`, as "file → import". */
const crossings = (from: string[], into: string[]) =>
  graph.flatMap(({ file, imports }) =>
    under(file, ...from) ? imports.filter((i) => under(i, ...into)).map((i) => `${file} → ${i}`) : [],
  );

/** The context folders of a role: each has an index.ts (`commands/ordering/index.ts`). */
const contextsOf = (role: string): string[] =>
  readdirSync(join(root, role)).filter((name) => {
    const path = join(root, role, name);
    return statSync(path).isDirectory() && readdirSync(path).includes('index.ts') && name !== 'runtime';
  });

describe('module boundaries', () => {
  it('finds the modules it checks (a scan of nothing would pass every rule)', () => {
    expect(graph.length).toBeGreaterThan(100);
    expect(crossings(['gateway'], ['commands']).length).toBeGreaterThan(0);
  });

  it('keeps the read side out of the write side: projections and queries import nothing from commands/', () => {
    expect(crossings(['projections', 'queries'], ['commands'])).toEqual([]);
  });

  it('keeps the write side out of the read side: commands import nothing from projections/ or queries/', () => {
    expect(crossings(['commands'], ['projections', 'queries'])).toEqual([]);
  });

  it('keeps the shared runtime below every role: runtime/ imports no role folder', () => {
    expect(crossings(['runtime'], ['commands', 'projections', 'queries', 'sagas', 'gateway', 'ops'])).toEqual([]);
  });

  it('keeps the local simulators out of the product: nothing but ops/ and tests imports ops/simulators', () => {
    expect(
      crossings(['commands', 'projections', 'queries', 'sagas', 'gateway', 'schemas', 'runtime'], ['ops/simulators']),
    ).toEqual([]);
  });

  it('names contexts only in the contexts lists and the contexts themselves: core files import no context folder', () => {
    const contexts = CONTEXT_ROLES.flatMap((r) => contextsOf(r).map((c) => `${r}/${c}/`));
    expect(contexts).toContain('commands/ordering/');
    const offenders = graph.flatMap(({ file, imports }) => {
      const ownContext = contexts.some((c) => file.startsWith(c));
      const isList = /\/contexts\.ts$/.test(file) || file.startsWith('ops/demo/');
      if (ownContext || isList) return [];
      return imports.filter((i) => contexts.some((c) => i.startsWith(c))).map((i) => `${file} → ${i}`);
    });
    expect(offenders).toEqual([]);
  });
});

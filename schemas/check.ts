// Schema evolution check, run in CI: every .avsc in the working tree must be able to read data written with
// every earlier committed version of itself (--against-git), and with what the registry holds
// (--against-registry). Exits 1, naming the schema and the reason, on a BACKWARD-incompatible change.
import { execFileSync } from 'node:child_process';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type avro from 'avsc';
import { loadConfig } from '../runtime/config.js';
import { eventSchemas, schemaPath, subjectOf } from './catalog.js';
import { checkBackward } from './compatibility.js';
import { createRegistryClient } from './registry.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const git = (...args: string[]): string =>
  execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });

function earlierVersions(path: string): { commit: string; definition: avro.Schema }[] {
  const file = relative(root, path);
  let commits: string[];
  try {
    commits = git('log', '--format=%H', '--', file).split('\n').filter(Boolean);
  } catch {
    return []; // not a git checkout: nothing to compare with
  }
  return commits.flatMap((commit) => {
    try {
      return [{ commit, definition: JSON.parse(git('show', `${commit}:${file}`)) as avro.Schema }];
    } catch {
      return []; // the file did not exist (or was not valid JSON) in that commit
    }
  });
}

async function main(): Promise<number> {
  const againstGit = process.argv.includes('--against-git');
  const againstRegistry = process.argv.includes('--against-registry');
  const problems: string[] = [];
  let compared = 0;
  for (const schema of eventSchemas().values()) {
    if (againstGit) {
      for (const { commit, definition } of earlierVersions(schemaPath(schema.context, schema.eventType))) {
        compared++;
        const result = checkBackward(schema.definition, definition);
        if (!result.compatible)
          problems.push(`${schema.eventType}: cannot read data written at ${commit.slice(0, 10)}: ${result.reason}`);
      }
    }
    if (againstRegistry) {
      const config = loadConfig(process.env, { secrets: 'unused' });
      const subject = subjectOf(config.topicPrefix + schema.topic, schema.fullName);
      compared++;
      if (!(await createRegistryClient(config.registryUrl).isCompatible(subject, schema.definition))) {
        problems.push(`${schema.eventType}: the registry refuses it as the next version of ${subject}`);
      }
    }
  }
  for (const p of problems) console.error(`incompatible: ${p}`);
  console.log(`schemas: ${eventSchemas().size} checked, ${compared} comparisons, ${problems.length} incompatible`);
  return problems.length === 0 ? 0 : 1;
}

process.exitCode = await main().catch((error: unknown) => {
  console.error(`schema check failed: ${(error as Error).message}`);
  return 2;
});

import avro from 'avsc';
import type { Command } from 'commander';
import { eventSchemas, subjectOf } from '../../../schemas/catalog.js';
import { checkBackward } from '../../../schemas/compatibility.js';
import { type ActionContext, action } from '../context.js';
import { CliError, serviceFailure } from '../errors.js';
import { type CliIo, table } from '../output.js';

export interface SchemaInfo {
  readonly eventType: string;
  readonly context: string;
  readonly topic: string;
  readonly subject: string;
  readonly fullName: string;
  /** The subject's latest version in the registry; null when it is not registered. */
  readonly registered: { readonly id: number; readonly version: number } | null;
  /** The latest registered schema is the working tree's .avsc (same canonical form). */
  readonly current: boolean;
}

export interface SchemaCheck {
  readonly eventType: string;
  readonly subject: string;
  readonly registeredVersion: number | null;
  readonly compatible: boolean;
  readonly reason: string | null;
}

export interface SchemaCheckResult {
  readonly checked: number;
  readonly incompatible: number;
  readonly schemas: readonly SchemaCheck[];
}

const sameSchema = (a: avro.Type, registered: string): boolean => {
  try {
    return a.fingerprint().equals(avro.Type.forSchema(JSON.parse(registered) as avro.Schema).fingerprint());
  } catch {
    return false;
  }
};

/** Every event type of the catalog with its subject under this environment's prefix. */
const catalog = (ctx: ActionContext) =>
  [...eventSchemas().values()].map((schema) => ({
    schema,
    topic: ctx.config.topicPrefix + schema.topic,
    subject: subjectOf(ctx.config.topicPrefix + schema.topic, schema.fullName),
  }));

async function list(ctx: ActionContext): Promise<SchemaInfo[]> {
  const registry = ctx.services.registry();
  return Promise.all(
    catalog(ctx).map(async ({ schema, topic, subject }): Promise<SchemaInfo> => {
      const latest = await registry.latest(subject);
      return {
        eventType: schema.eventType,
        context: schema.context,
        topic,
        subject,
        fullName: schema.fullName,
        registered: latest ? { id: latest.id, version: latest.version } : null,
        current: latest !== null && sameSchema(schema.type, latest.schema),
      };
    }),
  );
}

/**
 * The check of schemas/check.ts --against-registry: may each working-tree .avsc be registered as the next
 * version of its subject? The registry decides; checkBackward against the latest version gives the reason.
 */
async function check(ctx: ActionContext): Promise<SchemaCheckResult> {
  const registry = ctx.services.registry();
  const schemas = await Promise.all(
    catalog(ctx).map(async ({ schema, subject }): Promise<SchemaCheck> => {
      const latest = await registry.latest(subject);
      if (!latest) {
        return { eventType: schema.eventType, subject, registeredVersion: null, compatible: true, reason: null };
      }
      const local = checkBackward(schema.definition, JSON.parse(latest.schema) as avro.Schema);
      const accepted = await registry.client
        .isCompatible(subject, schema.definition)
        .catch((error: unknown) => Promise.reject(serviceFailure('the schema registry', registry.address, error)));
      const reason = local.reason ?? (accepted ? null : 'the registry refuses it as the next version');
      return {
        eventType: schema.eventType,
        subject,
        registeredVersion: latest.version,
        compatible: local.compatible && accepted,
        reason,
      };
    }),
  );
  return { checked: schemas.length, incompatible: schemas.filter((s) => !s.compatible).length, schemas };
}

export function registerSchemas(program: Command, io: CliIo): void {
  const schemas = program.command('schemas').description('event schemas in the working tree and the registry');

  schemas
    .command('list')
    .description('event types with their topic, subject, and registered id and version')
    .action(
      action(io, async (ctx) => {
        const result = { schemas: await list(ctx) };
        ctx.out.result(result, (r) =>
          table(
            ['EVENT TYPE', 'TOPIC', 'SUBJECT', 'ID', 'VERSION', 'CURRENT'],
            r.schemas.map((s) => [
              s.eventType,
              s.topic,
              s.subject,
              s.registered ? String(s.registered.id) : '-',
              s.registered ? String(s.registered.version) : 'not registered',
              s.current ? 'yes' : 'no',
            ]),
          ),
        );
      }),
    );

  schemas
    .command('check')
    .description("each working-tree .avsc against the registry's latest version (BACKWARD); exit 1 if one is not")
    .action(
      action(io, async (ctx) => {
        const result = await check(ctx);
        ctx.out.result(result, (r) =>
          [
            ...r.schemas
              .filter((s) => !s.compatible)
              .map((s) => `incompatible: ${s.eventType} (${s.subject} v${s.registeredVersion}): ${s.reason}`),
            `schemas: ${r.checked} checked, ${r.incompatible} incompatible`,
          ].join('\n'),
        );
        if (result.incompatible > 0) {
          throw new CliError(`${result.incompatible} schema(s) cannot be registered as the next version`);
        }
      }),
    );
}

import fc from 'fast-check';
import { z } from 'zod';

/**
 * fast-check arbitraries generated from the events' JSON Schemas (domain/events/json-schema.ts,
 * themselves generated from the zod schemas), so the fuzzing follows the contracts as they
 * change. zod-fast-check is not a dependency; the JSON Schemas zod emits use a small subset
 * (object, array, string with pattern / length / enum / date-time, integer and number ranges,
 * boolean, anyOf), which this covers. `validDetail` produces inputs that satisfy the JSON Schema
 * (zod may still refuse a few: its cross-field refinements are not in JSON Schema), and
 * `mutatedDetail` breaks them in one place each; zod's verdict is the oracle either way.
 */

/** The part of JSON Schema draft-04 that zod emits for Flowtune's events. */
export interface JsonSchema {
  readonly type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean | JsonSchema;
  readonly items?: JsonSchema;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly enum?: readonly unknown[];
  readonly pattern?: string;
  readonly format?: string;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly anyOf?: readonly JsonSchema[];
}

const JsonSchemaShape: z.ZodType<JsonSchema> = z.lazy(() =>
  z.looseObject({
    type: z.enum(['object', 'array', 'string', 'integer', 'number', 'boolean']).optional(),
    properties: z.record(z.string(), JsonSchemaShape).optional(),
    required: z.array(z.string()).optional(),
    additionalProperties: z.union([z.boolean(), JsonSchemaShape]).optional(),
    items: JsonSchemaShape.optional(),
    minItems: z.number().optional(),
    maxItems: z.number().optional(),
    enum: z.array(z.unknown()).optional(),
    pattern: z.string().optional(),
    format: z.string().optional(),
    minLength: z.number().optional(),
    maxLength: z.number().optional(),
    minimum: z.number().optional(),
    maximum: z.number().optional(),
    anyOf: z.array(JsonSchemaShape).optional(),
  }),
);

/** Reads a generated JSON Schema, failing on a construct this generator does not know. */
export function parseJsonSchema(schema: unknown): JsonSchema {
  return JsonSchemaShape.parse(schema);
}

const isoTimestamp = fc
  .record({
    // Half near the fuzz tests' clock (within the handlers' time bounds), half anywhere in the century.
    at: fc.oneof(
      fc.date({
        min: new Date('2026-11-20T08:50:00Z'),
        max: new Date('2026-11-20T09:10:00Z'),
        noInvalidDate: true,
      }),
      fc.date({
        min: new Date('2000-01-01T00:00:00Z'),
        max: new Date('2099-12-31T23:59:59Z'),
        noInvalidDate: true,
      }),
    ),
    offset: fc.constantFrom('Z', '+02:00', '-05:30', '+00:00'),
    millis: fc.boolean(),
  })
  .map(({ at, offset, millis }) => {
    const base = at.toISOString().slice(0, millis ? 23 : 19);
    return `${base}${offset}`;
  });

/** Strings of a length between the bounds, sometimes at the bounds themselves. */
function boundedString(minLength: number, maxLength: number): fc.Arbitrary<string> {
  const cappedMax = Math.min(maxLength, minLength + 40);
  const typical = fc.string({ minLength, maxLength: cappedMax });
  if (maxLength === Number.POSITIVE_INFINITY) return typical;
  return fc.oneof(
    { weight: 4, arbitrary: typical },
    { weight: 1, arbitrary: fc.constant('x'.repeat(maxLength)) },
    { weight: 1, arbitrary: fc.constant('y'.repeat(Math.max(minLength, 1))) },
  );
}

/** Values the JSON Schema accepts. */
export function arbitraryFor(schema: JsonSchema): fc.Arbitrary<unknown> {
  if (schema.anyOf !== undefined) return fc.oneof(...schema.anyOf.map(arbitraryFor));
  if (schema.enum !== undefined) return fc.constantFrom(...schema.enum);
  switch (schema.type) {
    case 'string':
      if (schema.format === 'date-time') return isoTimestamp;
      if (schema.pattern !== undefined) return fc.stringMatching(new RegExp(schema.pattern));
      return boundedString(schema.minLength ?? 0, schema.maxLength ?? Number.POSITIVE_INFINITY);
    case 'integer':
      return fc.integer({ min: schema.minimum ?? -1_000_000, max: schema.maximum ?? 1_000_000 });
    case 'number':
      return fc.double({
        min: schema.minimum ?? -1e9,
        max: schema.maximum ?? 1e9,
        noNaN: true,
        noDefaultInfinity: true,
      });
    case 'boolean':
      return fc.boolean();
    case 'array':
      return fc.array(schema.items === undefined ? fc.jsonValue() : arbitraryFor(schema.items), {
        minLength: schema.minItems ?? 0,
        maxLength: Math.min(schema.maxItems ?? 5, 5),
      });
    case 'object': {
      const properties = schema.properties ?? {};
      const names = Object.keys(properties);
      if (names.length === 0 && typeof schema.additionalProperties === 'object') {
        return fc.dictionary(
          fc.string({ minLength: 1, maxLength: 64 }),
          arbitraryFor(schema.additionalProperties),
          {
            maxKeys: 5,
          },
        );
      }
      const model = Object.fromEntries(
        names.map((name) => [name, arbitraryFor(properties[name] ?? {})]),
      ) as Record<string, fc.Arbitrary<unknown>>;
      return fc.record(model, { requiredKeys: [...(schema.required ?? [])] });
    }
    default:
      return fc.jsonValue();
  }
}

/** One way to break an input in one place. */
export type Mutation =
  | { readonly kind: 'drop'; readonly field: string }
  | { readonly kind: 'replace'; readonly field: string; readonly value: unknown }
  | { readonly kind: 'extra'; readonly field: string; readonly value: unknown }
  | { readonly kind: 'oversize'; readonly field: string }
  | { readonly kind: 'not-an-object'; readonly value: unknown };

/** A valid-shaped input and one mutation of it, applied: mostly invalid, occasionally still valid. */
export function mutatedDetail(schema: JsonSchema): fc.Arbitrary<{ detail: unknown; mutation: Mutation }> {
  const fields = Object.keys(schema.properties ?? {});
  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    fc.constantFrom(...fields).map((field): Mutation => ({ kind: 'drop', field })),
    fc
      .record({ field: fc.constantFrom(...fields), value: fc.jsonValue({ maxDepth: 3 }) })
      .map(({ field, value }): Mutation => ({ kind: 'replace', field, value })),
    fc
      .record({
        field: fc.string({ minLength: 1, maxLength: 12 }).filter((name) => !fields.includes(name)),
        value: fc.jsonValue({ maxDepth: 2 }),
      })
      .map(({ field, value }): Mutation => ({ kind: 'extra', field, value })),
    fc.constantFrom(...fields).map((field): Mutation => ({ kind: 'oversize', field })),
    fc.jsonValue({ maxDepth: 2 }).map((value): Mutation => ({ kind: 'not-an-object', value })),
  );
  return fc.tuple(arbitraryFor(schema), mutation).map(([valid, change]) => ({
    detail: applyMutation(valid, change),
    mutation: change,
  }));
}

function applyMutation(valid: unknown, mutation: Mutation): unknown {
  if (mutation.kind === 'not-an-object') return mutation.value;
  const copy = { ...(valid as Record<string, unknown>) };
  switch (mutation.kind) {
    case 'drop':
      delete copy[mutation.field];
      break;
    case 'replace':
    case 'extra':
      copy[mutation.field] = mutation.value;
      break;
    case 'oversize':
      copy[mutation.field] = 'z'.repeat(70 * 1024);
      break;
  }
  return copy;
}

import { z } from 'zod';
import { ALL_EVENTS, type DetailType } from './index';

/**
 * JSON Schema of each event detail, generated from the zod schemas so the
 * registry never drifts from the code. Draft 4 is what the EventBridge schema registry
 * accepts (type JSONSchemaDraft4). `io: 'input'` describes what producers may send
 * (defaults optional), which is what a schema registry consumer needs.
 */
export function eventJsonSchemas(): Record<DetailType, Record<string, unknown>> {
  const out = {} as Record<DetailType, Record<string, unknown>>;
  for (const [name, schema] of Object.entries(ALL_EVENTS) as [DetailType, z.ZodType][]) {
    out[name] = {
      title: name,
      ...z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-04' }),
    };
  }
  return out;
}

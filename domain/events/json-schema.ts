import { z } from 'zod';
import { FORWARD_COMPATIBILITY_RULE } from './common';
import { ALL_EVENTS, type DetailType, isInboundDetailType } from './index';

/**
 * JSON Schema of each event detail, generated from the zod schemas so the
 * registry never drifts from the code. Draft 4 is what the EventBridge schema registry
 * accepts (type JSONSchemaDraft4). `io: 'input'` describes what producers may send
 * (defaults optional), which is what a schema registry consumer needs. Inbound schemas say in
 * their description and with `additionalProperties: true` that fields they do not name are
 * accepted and ignored (FORWARD_COMPATIBILITY_RULE).
 */
export function eventJsonSchemas(): Record<DetailType, Record<string, unknown>> {
  const out = {} as Record<DetailType, Record<string, unknown>>;
  for (const [name, schema] of Object.entries(ALL_EVENTS) as [DetailType, z.ZodType][]) {
    const generated = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-04' });
    out[name] = isInboundDetailType(name)
      ? { title: name, description: FORWARD_COMPATIBILITY_RULE, ...generated, additionalProperties: true }
      : { title: name, ...generated };
  }
  return out;
}

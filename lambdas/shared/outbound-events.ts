import { OUTBOUND_EVENTS, type OutboundDetailType, validateDetail } from '../../domain/events';
import type { OutboundDetail } from './ports';

/** Thrown before sending when Flowtune itself is about to emit an event that breaks its own contract. */
export class InvalidOutboundEventError extends Error {
  override readonly name = 'InvalidOutboundEventError';
}

/**
 * Parses an outbound detail with its OUTBOUND_EVENTS schema, so consumers only ever see events
 * that match the published JSON Schemas.
 */
export function validateOutbound<K extends OutboundDetailType>(
  detailType: K,
  detail: OutboundDetail<K>,
): unknown {
  if (!Object.hasOwn(OUTBOUND_EVENTS, detailType)) {
    throw new InvalidOutboundEventError(`"${detailType}" is not an outbound detail-type`);
  }
  const result = validateDetail(detailType, detail);
  if (!result.ok) {
    throw new InvalidOutboundEventError(`${detailType}.${result.field}: ${result.reason}`);
  }
  return result.value;
}

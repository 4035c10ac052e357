import { DateTime, FixedOffsetZone, IANAZone, type TokenParser, type Zone } from 'luxon';
import { z } from 'zod';

/**
 * How a log writes its times, declared in the mapping rather than guessed: `29/2/2016 01:16` is
 * 29 February in one export and nonsense in another, and a local time means nothing without
 * its zone. Parsing is done by luxon (a well-kept date library: token formats, IANA zones, DST).
 */

/** Named formats; anything else is a luxon token pattern such as `d/M/yyyy H:mm` or `M/d/yyyy`. */
export const NAMED_FORMATS = ['iso', 'epoch-s', 'epoch-ms'] as const;

export const TimestampSpec = z
  .object({
    /**
     * `iso` (ISO-8601, with or without zone), `epoch-s`, `epoch-ms`, or a luxon token pattern
     * (`d/M/yyyy H:mm`, `M/d/yyyy h:mm a`, `yyyy-MM-dd HH:mm:ss`, ...).
     * @default 'iso'
     */
    format: z.string().min(1).default('iso'),
    /**
     * Zone of times written without one: an IANA name (`Europe/Amsterdam`), `UTC` or an offset
     * (`+01:00`). Times that carry their own zone keep it.
     * @default 'UTC'
     */
    timeZone: z
      .string()
      .min(1)
      .default('UTC')
      .refine((zone) => zoneOf(zone) !== undefined, {
        message: 'is not a time zone: use an IANA name (Europe/Amsterdam), UTC or an offset (+01:00)',
      }),
  })
  .strict();
export type TimestampSpec = z.infer<typeof TimestampSpec>;

function zoneOf(name: string): Zone | undefined {
  if (/^utc$|^z$/i.test(name)) return FixedOffsetZone.utcInstance;
  const offset = /^(?:utc)?([+-])(\d{1,2})(?::?(\d{2}))?$/i.exec(name);
  if (offset !== null) {
    const minutes = (Number(offset[2]) * 60 + Number(offset[3] ?? 0)) * (offset[1] === '-' ? -1 : 1);
    return Math.abs(minutes) <= 18 * 60 ? FixedOffsetZone.instance(minutes) : undefined;
  }
  return IANAZone.isValidZone(name) ? IANAZone.create(name) : undefined;
}

/** Turns the text of one time field into epoch ms, or undefined when it is not in the format. */
export type TimestampParser = (text: string) => number | undefined;

const HAS_ZONE = /(?:Z|[+-]\d{2}(?::?\d{2})?)$/i;

/**
 * Compiles a timestamp spec once into a parser (the pattern's regex is built once: real exports
 * have millions of rows).
 *
 * @example
 * const parse = timestampParser({ format: 'd/M/yyyy H:mm', timeZone: 'Europe/Amsterdam' });
 * parse('29/2/2016 01:16'); // 1456704960000 (00:16 UTC)
 */
export function timestampParser(spec: TimestampSpec): TimestampParser {
  const zone = zoneOf(spec.timeZone);
  if (zone === undefined) throw new Error(`unknown time zone ${spec.timeZone}`);
  const { format } = spec;
  if (format === 'epoch-s' || format === 'epoch-ms') {
    const scale = format === 'epoch-s' ? 1000 : 1;
    return (text) => {
      if (!/^-?\d+(?:\.\d+)?$/.test(text)) return undefined;
      return Math.round(Number(text) * scale);
    };
  }
  if (format === 'iso') {
    return (text) => {
      // Zoned ISO (the common case in XES) through Date.parse, which is exact and much faster.
      if (HAS_ZONE.test(text) && /^\d{4}-\d{2}-\d{2}T/.test(text)) {
        const parsed = Date.parse(text);
        return Number.isNaN(parsed) ? undefined : parsed;
      }
      // ISO proper, then the "2016-02-29 10:00:00" spelling databases and spreadsheets export.
      const parsed = DateTime.fromISO(text, { zone });
      if (parsed.isValid) return parsed.toMillis();
      const spaced = DateTime.fromSQL(text, { zone });
      return spaced.isValid ? spaced.toMillis() : undefined;
    };
  }
  const parser: TokenParser = DateTime.buildFormatParser(format, { locale: 'en-US' });
  return (text) => {
    const parsed = DateTime.fromFormatParser(text, parser, { zone, locale: 'en-US' });
    return parsed.isValid ? parsed.toMillis() : undefined;
  };
}

/**
 * A time of day (`H:mm:ss` by default) on a date given separately, in the zone: the date column
 * of a call-centre export and its clock times. Dates and times repeat across rows, so each is
 * parsed once; the zone's offset is applied to the wall-clock sum (twice, for DST edges).
 */
export function dateAndTimeParser(
  dateFormat: string,
  timeFormat: string,
  timeZone: string,
): (date: string, time: string) => number | undefined {
  const zone = zoneOf(timeZone);
  if (zone === undefined) throw new Error(`unknown time zone ${timeZone}`);
  const dayOf = memo(timestampParser({ format: dateFormat, timeZone: 'UTC' }));
  const timeParser = DateTime.buildFormatParser(timeFormat, { locale: 'en-US' });
  const secondsOf = memo((text: string) => {
    const parsed = DateTime.fromFormatParser(text, timeParser, { zone: 'UTC', locale: 'en-US' });
    if (!parsed.isValid) return undefined;
    return ((parsed.hour * 60 + parsed.minute) * 60 + parsed.second) * 1000 + parsed.millisecond;
  });
  return (date, time) => {
    const day = dayOf(date);
    const ofDay = secondsOf(time);
    if (day === undefined || ofDay === undefined) return undefined;
    const wall = day + ofDay;
    const guess = wall - zone.offset(wall) * 60_000;
    return wall - zone.offset(guess) * 60_000;
  };
}

/** Caches a pure text parser (bounded: a log has few distinct dates and times of day). */
function memo(parse: (text: string) => number | undefined): (text: string) => number | undefined {
  const cache = new Map<string, number | undefined>();
  return (text) => {
    if (cache.has(text)) return cache.get(text);
    const value = parse(text);
    if (cache.size < 200_000) cache.set(text, value);
    return value;
  };
}

/** Says what a format looks like, for error messages. */
export function describeFormat(spec: TimestampSpec): string {
  if (spec.format === 'iso') return 'an ISO-8601 timestamp';
  if (spec.format === 'epoch-s') return 'seconds since 1970';
  if (spec.format === 'epoch-ms') return 'milliseconds since 1970';
  return `a "${spec.format}" timestamp`;
}

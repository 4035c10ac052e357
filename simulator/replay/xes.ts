import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';

/**
 * A streaming reader of XES (IEEE 1849) event logs, plain or gzipped. It never holds the whole
 * document: tags are tokenised chunk by chunk and each trace is yielded as soon as it closes.
 * Only what replay needs is kept: trace and event attributes at their own level (nested
 * attribute children and log-level globals/classifiers are skipped).
 */

export interface XesEvent {
  readonly attributes: Readonly<Record<string, string>>;
}

export interface XesTrace {
  readonly attributes: Readonly<Record<string, string>>;
  readonly events: readonly XesEvent[];
}

const ATTRIBUTE_TAGS = new Set(['string', 'date', 'int', 'float', 'boolean', 'id']);

function decodeEntities(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_match, entity: string) => {
    if (entity === 'amp') return '&';
    if (entity === 'lt') return '<';
    if (entity === 'gt') return '>';
    if (entity === 'quot') return '"';
    if (entity === 'apos') return "'";
    const code = entity.startsWith('#x')
      ? Number.parseInt(entity.slice(2), 16)
      : Number.parseInt(entity.slice(1), 10);
    return String.fromCodePoint(code);
  });
}

function attributeOf(tag: string, name: string): string | undefined {
  const match = new RegExp(`\\s${name}\\s*=\\s*("([^"]*)"|'([^']*)')`).exec(tag);
  if (match === null) return undefined;
  return decodeEntities(match[2] ?? match[3] ?? '');
}

/** Yields the traces of an XES file (`.xes` or `.xes.gz`) one by one. */
export async function* readXesTraces(path: string): AsyncGenerator<XesTrace> {
  const source = createReadStream(path);
  const stream = path.endsWith('.gz') ? source.pipe(createGunzip()) : source;
  stream.setEncoding('utf8');

  let buffer = '';
  // Element stack of the parts we care about: 'trace', 'event', or 'other' (anything else, incl. nested attributes).
  const stack: string[] = [];
  let trace: { attributes: Record<string, string>; events: XesEvent[] } | undefined;
  let event: Record<string, string> | undefined;

  for await (const chunk of stream as AsyncIterable<string>) {
    buffer += chunk;
    let position = 0;
    for (;;) {
      const open = buffer.indexOf('<', position);
      if (open < 0) {
        position = buffer.length;
        break;
      }
      // Skip comments, processing instructions and CDATA wholesale.
      if (buffer.startsWith('<!--', open)) {
        const end = buffer.indexOf('-->', open + 4);
        if (end < 0) {
          position = open;
          break;
        }
        position = end + 3;
        continue;
      }
      const close = buffer.indexOf('>', open + 1);
      if (close < 0) {
        position = open;
        break;
      }
      const tag = buffer.slice(open + 1, close);
      position = close + 1;
      if (tag.startsWith('?') || tag.startsWith('!')) continue;
      if (tag.startsWith('/')) {
        const name = tag.slice(1).trim();
        const top = stack.pop();
        if (name === 'event' && top === 'event' && trace !== undefined && event !== undefined) {
          trace.events.push({ attributes: event });
          event = undefined;
        } else if (name === 'trace' && top === 'trace' && trace !== undefined) {
          const finished = trace;
          trace = undefined;
          yield finished;
        }
        continue;
      }
      const selfClosing = tag.endsWith('/');
      const name = /^[A-Za-z_:][\w:.-]*/.exec(tag)?.[0] ?? '';
      const parent = stack.at(-1);
      if (name === 'trace' && !selfClosing) {
        trace = { attributes: {}, events: [] };
        stack.push('trace');
        continue;
      }
      if (name === 'event' && parent === 'trace' && !selfClosing) {
        event = {};
        stack.push('event');
        continue;
      }
      if (ATTRIBUTE_TAGS.has(name) && (parent === 'event' || parent === 'trace')) {
        const key = attributeOf(tag, 'key');
        const value = attributeOf(tag, 'value');
        if (key !== undefined && value !== undefined) {
          if (parent === 'event' && event !== undefined) event[key] = value;
          else if (parent === 'trace' && trace !== undefined) trace.attributes[key] = value;
        }
      }
      if (!selfClosing) stack.push('other');
    }
    buffer = buffer.slice(position);
  }
}

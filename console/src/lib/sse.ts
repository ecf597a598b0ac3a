// An incremental parser for server-sent events (the WHATWG "event stream" format), fed text chunks as they
// arrive from a fetch body: EventSource cannot send an Authorization header, so the console reads SSE itself.

export interface SseMessage {
  /** `message` when the server named no event. */
  event: string;
  data: string;
  /** The last `id:` seen so far in the stream (it persists across messages), or undefined. */
  id: string | undefined;
}

export interface SseParser {
  /** Parses a chunk; returns the messages it completed (a message may span chunks). */
  feed(chunk: string): SseMessage[];
  /** The reconnection delay the server asked for (`retry:`), if any. */
  readonly retryMs: number | undefined;
  readonly lastEventId: string | undefined;
}

/**
 * @example
 * const p = createSseParser();
 * p.feed('event: task\ndata: {"a"'); // []
 * p.feed(':1}\n\n'); // [{ event: 'task', data: '{"a":1}', id: undefined }]
 */
export function createSseParser(): SseParser {
  let buffer = '';
  let event = '';
  let data: string[] = [];
  let hasData = false;
  let lastEventId: string | undefined;
  let retryMs: number | undefined;
  let first = true;
  let skipLf = false;

  const line = (l: string, out: SseMessage[]) => {
    if (l === '') {
      if (hasData) out.push({ event: event || 'message', data: data.join('\n'), id: lastEventId });
      event = '';
      data = [];
      hasData = false;
      return;
    }
    if (l.startsWith(':')) return;
    const colon = l.indexOf(':');
    const field = colon === -1 ? l : l.slice(0, colon);
    let value = colon === -1 ? '' : l.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') {
      data.push(value);
      hasData = true;
    } else if (field === 'event') event = value;
    else if (field === 'id') {
      if (!value.includes('\0')) lastEventId = value;
    } else if (field === 'retry' && /^\d+$/.test(value)) retryMs = Number(value);
  };

  return {
    feed(chunk) {
      const out: SseMessage[] = [];
      // A chunk that ended in \r was taken as a line end; a \n opening the next chunk completes that \r\n.
      if (skipLf && chunk.length > 0) {
        if (chunk.startsWith('\n')) chunk = chunk.slice(1);
        skipLf = false;
      }
      buffer += chunk;
      if (first && buffer.length > 0) {
        if (buffer.charCodeAt(0) === 0xfeff) buffer = buffer.slice(1);
        first = false;
      }
      for (;;) {
        const m = /\r\n|\n|\r/.exec(buffer);
        if (!m) break;
        line(buffer.slice(0, m.index), out);
        buffer = buffer.slice(m.index + m[0].length);
        if (m[0] === '\r' && buffer === '') skipLf = true;
      }
      return out;
    },
    get retryMs() {
      return retryMs;
    },
    get lastEventId() {
      return lastEventId;
    },
  };
}

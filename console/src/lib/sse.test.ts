import { describe, expect, it } from 'vitest';
import { createSseParser } from './sse.ts';

describe('createSseParser', () => {
  it('parses events split across chunks at any byte, with names, ids and multi-line data', () => {
    const text =
      ': keepalive\n\nid: 7\nevent: task.created\ndata: {"a":1}\n\ndata: line one\ndata: line two\n\nevent: x\nid: 9\ndata:\n\n';
    for (let cut = 0; cut <= text.length; cut++) {
      const p = createSseParser();
      const got = [...p.feed(text.slice(0, cut)), ...p.feed(text.slice(cut))];
      expect(got).toEqual([
        { event: 'task.created', data: '{"a":1}', id: '7' },
        { event: 'message', data: 'line one\nline two', id: '7' },
        { event: 'x', data: '', id: '9' },
      ]);
      expect(p.lastEventId).toBe('9');
    }
  });

  it('accepts CRLF and lone CR line ends, even with CR and LF in different chunks', () => {
    const p = createSseParser();
    expect(p.feed('event: a\r')).toEqual([]);
    expect(p.feed('\ndata: 1\r')).toEqual([]);
    expect(p.feed('\r')).toEqual([{ event: 'a', data: '1', id: undefined }]);
    expect(p.feed('data: 2\r\n\r\n')).toEqual([{ event: 'message', data: '2', id: undefined }]);
  });

  it('keeps only the first space after the colon, ignores unknown fields and events without data', () => {
    const p = createSseParser();
    expect(p.feed('event: only-a-name\n\nfoo: bar\ndata:  two spaces\nretry: 1500\nretry: x\n\n')).toEqual([
      { event: 'message', data: ' two spaces', id: undefined },
    ]);
    expect(p.retryMs).toBe(1500);
  });

  it('strips a leading byte-order mark and holds an unfinished event back', () => {
    const p = createSseParser();
    expect(p.feed('\ufeffdata: x\n')).toEqual([]);
    expect(p.feed('\n')).toEqual([{ event: 'message', data: 'x', id: undefined }]);
  });
});

import { describe, expect, it } from 'vitest';
import { createShortcutReader } from './shortcuts.ts';

describe('shortcut reader', () => {
  it('maps single keys and the g chords', () => {
    const t = 0;
    const read = createShortcutReader(() => t);
    expect(['?', 'j', 'k', 'n', 'a', '/', 'x'].map(read)).toEqual([
      'help',
      'next',
      'prev',
      'new',
      'approve',
      'search',
      undefined,
    ]);
    expect(read('g')).toBeUndefined();
    expect(read('t')).toBe('go-tasks');
    expect(read('t')).toBeUndefined();
    read('g');
    expect(read('s')).toBe('go-settings');
  });

  it('forgets a g after a while, and a g followed by another key is not that key', () => {
    let t = 0;
    const read = createShortcutReader(() => t);
    read('g');
    t = 5000;
    expect(read('t')).toBeUndefined();
    read('g');
    expect(read('n')).toBeUndefined();
    expect(read('n')).toBe('new');
  });
});

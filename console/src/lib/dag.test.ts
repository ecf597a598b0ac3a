import { describe, expect, it } from 'vitest';
import { layoutDag, NODE_H, NODE_W } from './dag.ts';

const s = (id: string, ...dependsOn: string[]) => ({ id, title: id.toUpperCase(), dependsOn });

describe('layoutDag', () => {
  it('puts every subtask in a column right of all it depends on', () => {
    const items = [s('test', 'impl', 'docs'), s('docs'), s('impl', 'types'), s('types')];
    const { nodes, edges, problems } = layoutDag(items);
    const layer = Object.fromEntries(nodes.map((n) => [n.item.id, n.layer]));
    expect(layer).toEqual({ types: 0, docs: 0, impl: 1, test: 2 });
    for (const e of edges) expect(layer[e.from]!).toBeLessThan(layer[e.to]!);
    expect(edges).toHaveLength(3);
    expect(problems).toEqual([]);
  });

  it('orders a column by where its dependencies sit, keeping plan order on ties', () => {
    const items = [s('a'), s('b'), s('c'), s('after-c', 'c'), s('after-a', 'a'), s('after-b', 'b')];
    const { nodes } = layoutDag(items);
    const col1 = nodes.filter((n) => n.layer === 1).sort((x, y) => x.row - y.row);
    expect(col1.map((n) => n.item.id)).toEqual(['after-a', 'after-b', 'after-c']);
    const col0 = nodes.filter((n) => n.layer === 0).sort((x, y) => x.row - y.row);
    expect(col0.map((n) => n.item.id)).toEqual(['a', 'b', 'c']);
  });

  it('places boxes without overlap and reports the size', () => {
    const { nodes, width, height } = layoutDag([s('a'), s('b'), s('c', 'a')]);
    const spots = new Set(nodes.map((n) => `${n.x},${n.y}`));
    expect(spots.size).toBe(3);
    expect(width).toBeGreaterThanOrEqual(2 * NODE_W);
    expect(height).toBeGreaterThanOrEqual(2 * NODE_H);
  });

  it('survives what the server would reject: unknown dependencies and cycles', () => {
    const { nodes, edges, problems } = layoutDag([s('a', 'b'), s('b', 'a'), s('c', 'ghost')]);
    expect(nodes).toHaveLength(3);
    expect(edges).toHaveLength(1);
    expect(problems).toEqual(expect.arrayContaining(['c depends on unknown ghost']));
    expect(problems.some((p) => p.startsWith('cycle'))).toBe(true);
  });
});

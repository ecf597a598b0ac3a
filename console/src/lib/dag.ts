// Layout of a plan's DAG: subtasks in columns by depth (a subtask sits right of everything it depends on),
// ordered inside a column so edges cross little, with fixed-size boxes the SVG view can place directly.

export interface DagInput {
  id: string;
  title: string;
  dependsOn: readonly string[];
}

export interface DagNode<T extends DagInput = DagInput> {
  item: T;
  layer: number;
  /** Position inside its layer, from the top. */
  row: number;
  x: number;
  y: number;
}

export interface DagLayout<T extends DagInput = DagInput> {
  nodes: DagNode<T>[];
  edges: Array<{ from: string; to: string }>;
  width: number;
  height: number;
  /** Dependencies that name no subtask, and edges dropped to break a cycle (the server rejects both). */
  problems: string[];
}

export const NODE_W = 180;
export const NODE_H = 48;
const GAP_X = 56;
const GAP_Y = 16;

/**
 * @example layoutDag([{ id: 'a', title: 'A', dependsOn: [] }, { id: 'b', title: 'B', dependsOn: ['a'] }])
 * // nodes: a in layer 0, b in layer 1; one edge a → b
 */
export function layoutDag<T extends DagInput>(items: readonly T[]): DagLayout<T> {
  const byId = new Map(items.map((s) => [s.id, s]));
  const problems: string[] = [];
  const layer = new Map<string, number>();
  const state = new Map<string, 'visiting' | 'done'>();
  const deps = new Map<string, string[]>();

  const visit = (id: string): number => {
    const known = layer.get(id);
    if (known !== undefined) return known;
    state.set(id, 'visiting');
    const kept: string[] = [];
    let l = 0;
    for (const d of byId.get(id)!.dependsOn) {
      if (!byId.has(d)) {
        problems.push(`${id} depends on unknown ${d}`);
        continue;
      }
      if (state.get(d) === 'visiting') {
        problems.push(`cycle: ${d} → ${id} dropped`);
        continue;
      }
      kept.push(d);
      l = Math.max(l, visit(d) + 1);
    }
    deps.set(id, kept);
    state.set(id, 'done');
    layer.set(id, l);
    return l;
  };
  for (const s of items) visit(s.id);

  const layers: T[][] = [];
  for (const s of items) {
    const l = layer.get(s.id)!;
    layers[l] ??= [];
    layers[l].push(s);
  }
  // Barycenter ordering: a node goes near the mean row of what it depends on; ties keep the plan's order.
  const rowOf = new Map<string, number>();
  layers.forEach((col, li) => {
    const index = new Map(col.map((s, i) => [s.id, i]));
    const key = (s: T) => {
      const ds = deps.get(s.id)!;
      return li === 0 || ds.length === 0
        ? index.get(s.id)!
        : ds.reduce((sum, d) => sum + rowOf.get(d)!, 0) / ds.length;
    };
    col.sort((a, b) => key(a) - key(b) || index.get(a.id)! - index.get(b.id)!);
    col.forEach((s, i) => {
      rowOf.set(s.id, i);
    });
  });

  const nodes = layers.flatMap((col, li) =>
    col.map((item, row) => ({
      item,
      layer: li,
      row,
      x: li * (NODE_W + GAP_X),
      y: row * (NODE_H + GAP_Y),
    })),
  );
  const tallest = Math.max(0, ...layers.map((c) => c.length));
  return {
    nodes,
    edges: items.flatMap((s) => deps.get(s.id)!.map((d) => ({ from: d, to: s.id }))),
    width: Math.max(0, layers.length * (NODE_W + GAP_X) - GAP_X),
    height: Math.max(0, tallest * (NODE_H + GAP_Y) - GAP_Y),
    problems,
  };
}

// Cuts a source file into chunks along its syntax tree: functions, methods (named `Class.method`), classes
// (their header up to the first method) and runs of top-level code (the first run is the module header).
// Only top-level nodes and class bodies are visited, which keeps calls into the native tree few.
import type { SyntaxNode } from 'tree-sitter';
import { parseSource } from './languages.ts';
import type { ChunkKind, Language } from './types.ts';

export interface ChunkSpan {
  symbol: string;
  kind: ChunkKind;
  startLine: number;
  endLine: number;
}

export interface AstChunks {
  chunks: ChunkSpan[];
  /** Names defined by the file: plain and qualified (`Class`, `method`, `Class.method`, `CONSTANT`). */
  defs: string[];
  hasError: boolean;
}

const CLASS_TYPES = new Set([
  'class_definition',
  'class_declaration',
  'abstract_class_declaration',
  'interface_declaration',
  'enum_declaration',
  'record_declaration',
  'type_declaration',
]);
const FUNCTION_TYPES = new Set([
  'function_definition',
  'function_declaration',
  'generator_function_declaration',
  'method_definition',
  'method_declaration',
  'constructor_declaration',
  'method_signature',
  'abstract_method_signature',
]);
const VAR_TYPES = new Set(['lexical_declaration', 'variable_declaration']);
const FUNCTION_VALUES = new Set(['arrow_function', 'function_expression', 'function', 'generator_function']);

/** The definition a wrapper stands for: decorated (Python) or exported (TS/JS) definitions. */
function unwrap(node: SyntaxNode): SyntaxNode {
  if (node.type === 'decorated_definition') return node.childForFieldName('definition') ?? node;
  if (node.type === 'export_statement') return node.childForFieldName('declaration') ?? node;
  return node;
}

function nameOf(node: SyntaxNode): string {
  if (node.type === 'type_declaration') {
    const spec = node.namedChildren.find((c) => c.type === 'type_spec');
    return spec?.childForFieldName('name')?.text ?? '';
  }
  return node.childForFieldName('name')?.text ?? '';
}

/** `const f = () => ...` declares a function named `f`. */
function varFunctionName(node: SyntaxNode): string {
  for (const d of node.namedChildren) {
    if (d.type !== 'variable_declarator') continue;
    const value = d.childForFieldName('value');
    if (value && FUNCTION_VALUES.has(value.type)) return d.childForFieldName('name')?.text ?? '';
  }
  return '';
}

/** The receiver type of a Go method: `func (s *Server) Start()` → `Server`. */
function goReceiver(node: SyntaxNode): string {
  const recv = node.childForFieldName('receiver')?.text ?? '';
  const m = /([A-Za-z_][A-Za-z0-9_]*)\s*(?:\[[^\]]*\])?\s*\)\s*$/.exec(recv);
  return m?.[1] ?? '';
}

function pythonAssignName(node: SyntaxNode): string {
  if (node.type !== 'expression_statement') return '';
  const first = node.firstNamedChild;
  if (first?.type !== 'assignment') return '';
  const left = first.childForFieldName('left');
  return left?.type === 'identifier' ? left.text : '';
}

/** Classes inside classes deeper than this are not split into members. */
const MAX_CLASS_DEPTH = 32;

export function chunkAst(language: Exclude<Language, 'text'>, text: string): AstChunks {
  const tree = parseSource(language, text);
  const root = tree.rootNode;
  const chunks: ChunkSpan[] = [];
  const defs = new Set<string>();
  const line = (n: SyntaxNode, end = false) => (end ? n.endPosition.row : n.startPosition.row) + 1;

  const walk = (nodes: SyntaxNode[], container: string, depth = 0): void => {
    let runStart = -1;
    let runEnd = -1;
    const flush = () => {
      if (runStart > 0 && !container)
        chunks.push({ symbol: '', kind: 'module', startLine: runStart, endLine: runEnd });
      runStart = -1;
    };
    for (const node of nodes) {
      const def = unwrap(node);
      if (CLASS_TYPES.has(def.type)) {
        flush();
        const name = nameOf(def);
        const qualified = container && name ? `${container}.${name}` : name;
        if (name) defs.add(name);
        if (qualified !== name) defs.add(qualified);
        const body =
          def.childForFieldName('body') ??
          def.namedChildren.find((c) => c.type === 'type_spec')?.childForFieldName('type');
        // Classes nested deeper than any real code (a hostile file nests 100,000): the class is one chunk.
        const members = body && depth < MAX_CLASS_DEPTH ? body.namedChildren : [];
        const before = chunks.length;
        walk(members, qualified || container, depth + 1);
        const firstMember = chunks[before];
        const endLine = firstMember ? Math.max(line(node), firstMember.startLine - 1) : line(node, true);
        chunks.splice(before, 0, { symbol: qualified, kind: 'class', startLine: line(node), endLine });
      } else if (FUNCTION_TYPES.has(def.type) || (VAR_TYPES.has(def.type) && varFunctionName(def))) {
        flush();
        const name = VAR_TYPES.has(def.type) ? varFunctionName(def) : nameOf(def);
        const owner = def.type === 'method_declaration' && language === 'go' ? goReceiver(def) : container;
        const symbol = owner && name ? `${owner}.${name}` : name;
        if (name) defs.add(name);
        if (symbol !== name) defs.add(symbol);
        const kind = owner ? 'method' : 'function';
        chunks.push({ symbol, kind, startLine: line(node), endLine: line(node, true) });
      } else if (!container) {
        const assigned = language === 'python' ? pythonAssignName(node) : '';
        if (assigned) defs.add(assigned);
        if (runStart < 0) runStart = line(node);
        runEnd = line(node, true);
      }
    }
    flush();
  };
  walk(root.namedChildren, '');
  chunks.sort((a, b) => a.startLine - b.startLine || b.endLine - a.endLine);
  return { chunks, defs: [...defs], hasError: root.hasError };
}

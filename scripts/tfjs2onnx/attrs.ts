/** Readers for attributes in tfjs model.json form (`{ i: '2' }`, `{ s: base64 }`, `{ list: { i: [...] } }`...). */
import type { TfNode } from './types.ts';

type AttrJson = { i?: string | number; f?: number; b?: boolean; s?: string; type?: string; list?: { i?: (string | number)[]; s?: string[]; f?: number[] } };

function attr(node: TfNode, key: string): AttrJson | undefined {
  return node.attr?.[key] as AttrJson | undefined;
}

export function attrInts(node: TfNode, key: string, fallback: number[] = []): number[] {
  const a = attr(node, key);
  return a?.list?.i ? a.list.i.map((v) => Number(v)) : fallback;
}

export function attrInt(node: TfNode, key: string, fallback = 0): number {
  const a = attr(node, key);
  return a?.i !== undefined ? Number(a.i) : fallback;
}

export function attrFloat(node: TfNode, key: string, fallback = 0): number {
  const a = attr(node, key);
  return a?.f !== undefined ? Number(a.f) : fallback;
}

export function attrBool(node: TfNode, key: string, fallback = false): boolean {
  const a = attr(node, key);
  return a?.b !== undefined ? Boolean(a.b) : fallback;
}

const decodeB64 = (s: string): string => Buffer.from(s, 'base64').toString('utf8');

export function attrString(node: TfNode, key: string, fallback = ''): string {
  const a = attr(node, key);
  return a?.s !== undefined ? decodeB64(a.s) : fallback;
}

export function attrStrings(node: TfNode, key: string): string[] {
  const a = attr(node, key);
  return a?.list?.s ? a.list.s.map(decodeB64) : [];
}

export function attrType(node: TfNode, key: string): string | undefined {
  return attr(node, key)?.type;
}

/** `node:1` → ['node', 1]; `node` → ['node', 0]. */
export function parseTensorName(name: string): [string, number] {
  const m = /^(.*):(\d+)$/.exec(name);
  return m ? [m[1], Number(m[2])] : [name, 0];
}

export function tensorKey(name: string): string {
  const [node, index] = parseTensorName(name);
  return `${node}:${index}`;
}

/**
 * A tiny reader for simple, regular XML such as Pascal VOC annotations: element text by tag name. It is not a
 * general XML parser (no namespaces, no nesting of an element inside one of the same name), and says so by name.
 * Comments and processing instructions are dropped, CDATA is kept verbatim and the five predefined entities and
 * numeric character references are decoded.
 */

function stripNoise(xml: string): string {
  return xml.replace(/<!--[\s\S]*?-->/g, '').replace(/<\?[\s\S]*?\?>/g, '');
}

function escapeTag(tag: string): string {
  if (!/^[A-Za-z_][\w.-]*$/.test(tag)) throw new Error(`not an XML tag name: ${tag}`);
  return tag;
}

/** The inner text of every `<tag>...</tag>` (attributes allowed) in document order; `<tag/>` gives ''. */
export function readXmlBlocks(xml: string, tag: string): string[] {
  const name = escapeTag(tag);
  const pattern = new RegExp(`<${name}(?:\\s[^>]*?)?(?:/>|>([\\s\\S]*?)</${name}\\s*>)`, 'g');
  return [...stripNoise(xml).matchAll(pattern)].map((m) => m[1] ?? '');
}

/** The decoded, trimmed text of the first `<tag>`, or undefined when there is none. */
export function readXmlField(xml: string, tag: string): string | undefined {
  const block = readXmlBlocks(xml, tag)[0];
  return block === undefined ? undefined : decodeXmlText(block).trim();
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

export function decodeXmlText(text: string): string {
  // CDATA sections are literal; everything else has its entities decoded.
  return text
    .split(/(<!\[CDATA\[[\s\S]*?\]\]>)/)
    .map((part) =>
      part.startsWith('<![CDATA[')
        ? part.slice(9, -3)
        : part.replace(/&(#x[0-9a-fA-F]+|#\d+|\w+);/g, (whole, ref: string) => {
            if (ref.startsWith('#x')) return String.fromCodePoint(parseInt(ref.slice(2), 16));
            if (ref.startsWith('#')) return String.fromCodePoint(parseInt(ref.slice(1), 10));
            return ENTITIES[ref] ?? whole;
          }),
    )
    .join('');
}

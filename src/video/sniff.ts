/** Video containers recognised from their first bytes (never from a name or a content type). */
export type VideoContainer = 'mp4' | 'matroska';

/** ISO BMFF (mp4, mov, m4v, 3gp: a `ftyp` box first, or a QuickTime `moov`/`mdat`/`wide`/`free` atom) or EBML (mkv, webm). */
export function sniffVideo(bytes: Uint8Array): VideoContainer | undefined {
  if (bytes.length >= 4 && bytes[0] === 0x1a && bytes[1] === 0x45 && bytes[2] === 0xdf && bytes[3] === 0xa3) return 'matroska';
  if (bytes.length >= 12) {
    const box = String.fromCharCode(bytes[4], bytes[5], bytes[6], bytes[7]);
    if (box === 'ftyp' || box === 'moov' || box === 'mdat' || box === 'wide' || box === 'free') return 'mp4';
  }
  return undefined;
}

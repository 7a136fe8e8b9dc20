/**
 * The pure parts of HLS and event snapshots: the encoder's argument list (as strings), the playlist rewritten to
 * carry the API key, the bounded store of event JPEGs, and the `hls` config checks.
 */
import { describe, expect, it } from 'vitest';
import { EventSnapshots } from '../../src/camera/event-snapshots.ts';
import { buildHlsArgs, HLS_SEGMENT_PATTERN } from '../../src/camera/hls-args.ts';
import { loadConfig } from '../../src/config/load.ts';
import { isRaypackError, type RaypackError } from '../../src/errors.ts';
import { withKey } from '../../src/http/camera-hls.ts';
import type { TrackEvent } from '../../src/tracking/events.ts';

const BASE = { width: 640, height: 360, fps: 5, segmentSeconds: 2, segments: 4, crf: 26, dir: '/tmp/x' };

describe('buildHlsArgs', () => {
  it('reads raw RGB of the camera size from stdin and writes H.264 fMP4 segments with a keyframe each', () => {
    const args = buildHlsArgs(BASE).join(' ');
    expect(args).toContain('-f rawvideo -pix_fmt rgb24 -s 640x360 -framerate 5 -i pipe:0');
    expect(args).toContain('-c:v libx264 -preset veryfast -tune zerolatency -pix_fmt yuv420p -crf 26');
    expect(args).toContain('-g 10 -keyint_min 10 -sc_threshold 0 -force_key_frames expr:gte(t,n_forced*2)');
    expect(args).toContain('-f hls -hls_time 2 -hls_list_size 4 -hls_flags delete_segments+independent_segments+temp_file+program_date_time+omit_endlist');
    expect(args).toContain('-hls_segment_type fmp4 -hls_fmp4_init_filename init.mp4 -hls_segment_filename /tmp/x/seg%d.m4s /tmp/x/index.m3u8');
    expect(args).not.toContain('-vf');
    expect(args).not.toContain('maxrate');
    // No input but stdin: the camera's own stream never reaches this ffmpeg.
    expect(buildHlsArgs(BASE).filter((a) => a === '-i')).toHaveLength(1);
  });

  it('pads odd sides for yuv420p, caps the bitrate when asked, and writes fractional rates plainly', () => {
    const args = buildHlsArgs({ ...BASE, width: 641, height: 359, fps: 2.5, segmentSeconds: 1.5, maxKbps: 800 }).join(' ');
    expect(args).toContain('-vf pad=ceil(iw/2)*2:ceil(ih/2)*2');
    expect(args).toContain('-maxrate 800k -bufsize 1600k');
    expect(args).toContain('-framerate 2.5');
    expect(args).toContain('-g 4 ');
    expect(args).toContain('-hls_time 1.5');
  });

  it('names segments so that the route can match them whole', () => {
    expect(HLS_SEGMENT_PATTERN.test('seg1796197880.m4s')).toBe(true);
    for (const name of ['seg.m4s', 'seg1.m4s.tmp', '../seg1.m4s', 'seg1.m4s/..', 'index.m3u8', 'seg1.mp4']) expect(HLS_SEGMENT_PATTERN.test(name), name).toBe(false);
  });
});

describe('withKey', () => {
  const playlist = ['#EXTM3U', '#EXT-X-MAP:URI="init.mp4"', '#EXTINF:2.000000,', 'seg17.m4s', '#EXTINF:2.000000,', 'seg18.m4s', ''].join('\n');

  it('adds the key, URL-encoded, to the init segment and every segment', () => {
    expect(withKey(playlist, 'a b&c')).toBe(['#EXTM3U', '#EXT-X-MAP:URI="init.mp4?apikey=a%20b%26c"', '#EXTINF:2.000000,', 'seg17.m4s?apikey=a%20b%26c', '#EXTINF:2.000000,', 'seg18.m4s?apikey=a%20b%26c', ''].join('\n'));
  });

  it('leaves the playlist alone without a key', () => {
    expect(withKey(playlist, undefined)).toBe(playlist);
  });
});

describe('EventSnapshots', () => {
  const event = (type: TrackEvent['type'], id: number, bestScore: number): TrackEvent => ({ type, id, label: 'face', firstSeen: 0, lastSeen: 0, bestScore });
  const jpeg = (tag: string) => () => Promise.resolve(Buffer.from(tag));

  it('takes one per new track, again on a better update only, and evicts the least recently taken', async () => {
    const store = new EventSnapshots(2);
    expect(store.record(event('new', 1, 0.6), jpeg('1a'))).toBe(true);
    expect(store.record(event('new', 2, 0.7), jpeg('2a'))).toBe(true);
    expect(store.record(event('update', 1, 0.5), jpeg('1-worse'))).toBe(true);
    expect((await store.get(1))!.toString()).toBe('1a');
    expect(store.record(event('update', 1, 0.9), jpeg('1b'))).toBe(true);
    expect((await store.get(1))!.toString()).toBe('1b');
    // Track 2 is now the least recently taken: a third track evicts it.
    expect(store.record(event('new', 3, 0.8), jpeg('3a'))).toBe(true);
    expect(store.get(2)).toBeUndefined();
    expect(store.size).toBe(2);
    // An evicted track gets no link on its later events, and an end takes nothing.
    expect(store.record(event('update', 2, 0.99), jpeg('2b'))).toBe(false);
    expect(store.record(event('end', 2, 0.99), jpeg('2c'))).toBe(false);
    expect(store.record(event('end', 3, 0.8), jpeg('3-end'))).toBe(true);
    expect((await store.get(3))!.toString()).toBe('3a');
  });

  it('keeps nothing of a failed render, and nothing at all with capacity 0', async () => {
    const store = new EventSnapshots(3);
    store.record(event('new', 1, 0.6), () => Promise.reject(new Error('render failed')));
    await new Promise((resolve) => setImmediate(resolve));
    expect(store.get(1)).toBeUndefined();
    const off = new EventSnapshots(0);
    let rendered = false;
    expect(off.record(event('new', 1, 0.6), () => ((rendered = true), Promise.resolve(Buffer.alloc(1))))).toBe(false);
    expect(rendered).toBe(false);
  });

  it('links below the camera routes', () => {
    expect(EventSnapshots.path('door', 42)).toBe('/cameras/door/events/42.jpg');
  });
});

describe('hls config', () => {
  it('is off by default, with its defaults filled, and event snapshots default to 50', () => {
    const camera = loadConfig({ text: 'cameras: [{ id: door, url: rtsp://x/y }]' }).config.cameras[0];
    expect(camera.hls).toEqual({ enabled: false, segment_seconds: 1, segments: 4, crf: 26 });
    expect(camera.event_snapshots).toBe(50);
  });

  it('reports every bad key with its path', () => {
    try {
      loadConfig({ text: 'cameras: [{ id: door, url: rtsp://x/y, hls: { enabled: true, segments: 1, segment_seconds: 0.2, crf: 60, bitrate: 3 }, event_snapshots: -1 }]' });
      throw new Error('expected the configuration to be rejected');
    } catch (error) {
      expect(isRaypackError(error)).toBe(true);
      const problems = ((error as RaypackError).details!.problems as string[]).join('\n');
      for (const path of ['cameras[0].hls.segments', 'cameras[0].hls.segment_seconds', 'cameras[0].hls.crf', 'cameras[0].hls', 'cameras[0].event_snapshots']) expect(problems).toContain(path);
      expect(problems).toContain('bitrate');
    }
  });
});

/**
 * Prometheus /metrics of the running daemon (demo camera: ffmpeg, the real detectors, the embedded broker): the
 * exposition parses line by line (our strict reader) and passes `promtool check metrics` (Debian's prometheus);
 * the series the issue asks for are there and move: frames per camera with drop causes, ffmpeg restarts/stalls,
 * latency by stage, queue depth/rejections, MQTT, HTTP requests by route and status, process metrics.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/auth/api-keys.ts';
import { buildServer } from '../../src/http/server.ts';
import { metricsPlugin } from '../../src/http/metrics-plugin.ts';
import { Metrics } from '../../src/integrations/metrics.ts';
import { setLogSink } from '../../src/log.ts';
import { InferenceQueue } from '../../src/pipeline/inference-queue.ts';
import { DEMO_USER_KEY, startDemoDaemon, waitForDemoFaces, type DemoDaemon } from '../helpers/demo-daemon.ts';
import { waitFor } from '../helpers/processes.ts';
import { parseExposition, promtoolAvailable, promtoolCheck, sampleValue } from '../helpers/prometheus.ts';

setLogSink(() => {});

describe('/metrics on the running daemon', () => {
  let d: DemoDaemon;
  let text = '';

  beforeAll(async () => {
    d = await startDemoDaemon();
    await waitForDemoFaces(d);
    await waitFor(() => (d.daemon.camera('demo')?.status().frames.analysed ?? 0) >= 3, 60_000, 'three analysed frames');
    // Some traffic to count: a 200, a 404 on no route, a 401 from the DeepStack API.
    await fetch(`${d.http}/cameras`);
    await fetch(`${d.http}/no/such/route?apikey=${DEMO_USER_KEY}`);
    await fetch(`${d.http}/v1/vision/detection`, { method: 'POST', body: new FormData() });
    await fetch(`${d.http}/metrics`);
    const response = await fetch(`${d.http}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    text = await response.text();
  }, 120_000);

  afterAll(async () => {
    await d?.daemon.stop();
  });

  it('is valid exposition format, line by line', () => {
    const e = parseExposition(text);
    expect(e.samples.length).toBeGreaterThan(50);
    // The reader is strict: it refuses what Prometheus would.
    expect(() => parseExposition('# TYPE a counter\na{x="1} 1\n')).toThrow(/bad labels/);
    expect(() => parseExposition('b 1\n')).toThrow(/has no TYPE/);
    expect(() => parseExposition('# TYPE c gauge\nc one\n')).toThrow(/not a number/);
  });

  it.skipIf(!promtoolAvailable())('passes promtool check metrics', () => {
    const { status, output } = promtoolCheck(text);
    expect(output).toBe('');
    expect(status).toBe(0);
    // promtool is able to fail: a gauge named like a counter is reported.
    expect(promtoolCheck('# HELP x_total a gauge\n# TYPE x_total gauge\nx_total 1\n').status).not.toBe(0);
  });

  it('has per-camera frames received/analysed/dropped by cause, ffmpeg restarts and stalls', () => {
    const e = parseExposition(text);
    expect(e.types.get('raypack_camera_frames_received_total')).toBe('counter');
    expect(sampleValue(e, 'raypack_camera_frames_received_total', { camera: 'demo' })).toBeGreaterThan(0);
    expect(sampleValue(e, 'raypack_camera_frames_analysed_total', { camera: 'demo' })).toBeGreaterThanOrEqual(3);
    for (const reason of ['replaced', 'queue_full', 'stale', 'failed']) {
      expect(sampleValue(e, 'raypack_camera_frames_dropped_total', { camera: 'demo', reason }), reason).toBeGreaterThanOrEqual(0);
    }
    expect(sampleValue(e, 'raypack_camera_ffmpeg_restarts_total', { camera: 'demo' })).toBe(0);
    expect(sampleValue(e, 'raypack_camera_ffmpeg_stalls_total', { camera: 'demo' })).toBe(0);
    expect(sampleValue(e, 'raypack_camera_streaming', { camera: 'demo' })).toBe(1);
    const status = d.daemon.camera('demo')!.status();
    expect(sampleValue(e, 'raypack_camera_frames_received_total', { camera: 'demo' })).toBeLessThanOrEqual(status.frames.received);
  });

  it('has analysis latency histograms by stage, queue depth and rejections, MQTT state', () => {
    const e = parseExposition(text);
    expect(e.types.get('raypack_analysis_seconds')).toBe('histogram');
    for (const stage of ['face', 'objects', 'total']) {
      const count = sampleValue(e, 'raypack_analysis_seconds_count', { camera: 'demo', stage });
      expect(count, stage).toBeGreaterThan(0);
      expect(sampleValue(e, 'raypack_analysis_seconds_bucket', { camera: 'demo', stage, le: '+Inf' })).toBe(count);
    }
    expect(sampleValue(e, 'raypack_inference_queue_waiting')).toBeGreaterThanOrEqual(0);
    expect(sampleValue(e, 'raypack_inference_queue_capacity')).toBe(4);
    expect(sampleValue(e, 'raypack_inference_queue_rejected_total')).toBeGreaterThanOrEqual(0);
    expect(sampleValue(e, 'raypack_inference_jobs_total', { outcome: 'completed' })).toBeGreaterThan(0);
    expect(sampleValue(e, 'raypack_mqtt_connected')).toBe(1);
    expect(sampleValue(e, 'raypack_mqtt_published_total')).toBeGreaterThan(0);
    expect(sampleValue(e, 'raypack_mqtt_dropped_total')).toBe(0);
    expect(sampleValue(e, 'raypack_mqtt_buffered_messages')).toBe(0);
  });

  it('counts HTTP requests by route pattern and status (never the raw URL), and has the process metrics', () => {
    const e = parseExposition(text);
    expect(sampleValue(e, 'raypack_http_requests_total', { method: 'GET', route: '/cameras', status: '200' })).toBe(1);
    expect(sampleValue(e, 'raypack_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' })).toBe(1);
    expect(sampleValue(e, 'raypack_http_requests_total', { method: 'POST', route: '/v1/vision/detection', status: '401' })).toBe(1);
    expect(sampleValue(e, 'raypack_http_requests_total', { method: 'GET', route: '/metrics', status: '200' })).toBe(1);
    expect(text).not.toContain('no/such/route');
    expect(text).not.toContain(DEMO_USER_KEY);
    expect(sampleValue(e, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(sampleValue(e, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(sampleValue(e, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
  });
});

describe('/metrics behind a key (metrics.require_key)', () => {
  it('answers 401 without a key and the metrics with one', async () => {
    const queue = new InferenceQueue();
    const metrics = new Metrics({ cameras: () => new Map(), queue: () => queue, mqtt: () => undefined });
    metrics.start();
    const app = buildServer({
      detectors: () => Promise.reject(new Error('no detectors in this test')),
      queue,
      apiKeys: [{ sha256: sha256Hex('metrics-key-0123456789') }],
      env: {},
      plugins: [metricsPlugin({ metrics, requireKey: true })],
    });
    try {
      expect((await app.inject({ url: '/metrics' })).statusCode).toBe(401);
      const ok = await app.inject({ url: '/metrics', headers: { authorization: 'Bearer metrics-key-0123456789' } });
      expect(ok.statusCode).toBe(200);
      expect(sampleValue(parseExposition(ok.body), 'raypack_http_requests_total', { route: '/metrics', status: '401' })).toBe(1);
    } finally {
      metrics.stop();
      await app.close();
    }
  });
});

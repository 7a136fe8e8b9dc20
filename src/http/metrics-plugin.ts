/**
 * `GET /metrics` (Prometheus text exposition) and the HTTP request counters. Wrapped with fastify-plugin so its
 * onResponse hook sees every route of the server, not only its own.
 */
import type { FastifyPluginAsync } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import type { Metrics } from '../integrations/metrics.ts';
import { ERROR_RESPONSES } from './schemas.ts';

export interface MetricsPluginDeps {
  readonly metrics: Metrics;
  /** Require an API key (header, Bearer or ?apikey=) for /metrics. */
  readonly requireKey: boolean;
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export function metricsPlugin(deps: MetricsPluginDeps): FastifyPluginAsync {
  return fastifyPlugin(async (app) => {
    app.addHook('onResponse', async (request, reply) => {
      deps.metrics.observeHttp(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    });
    app.get(
      '/metrics',
      {
        onRequest: deps.requireKey ? [app.requireApiKey()] : [],
        schema: {
          summary: 'Prometheus metrics: cameras, analysis latency, inference queue, MQTT, HTTP, process',
          tags: ['metrics'],
          response: {
            200: { description: 'Prometheus text exposition format 0.0.4', content: { 'text/plain': { schema: { type: 'string' } } } },
            ...ERROR_RESPONSES,
          },
        },
      },
      async (_request, reply) => {
        const text = await deps.metrics.registry.metrics();
        return reply.header('cache-control', 'no-store').type(PROMETHEUS_CONTENT_TYPE).send(text);
      },
    );
  }, { name: 'raypack-metrics' });
}

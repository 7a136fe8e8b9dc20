/** An optional feature the daemon starts after its core parts and stops before them; its constructor stores deps only. */
export interface Extension {
  start(): void | Promise<void>;
  stop(): void | Promise<void>;
}

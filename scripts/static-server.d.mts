export function serveStatic(root: string, isolated: boolean, port?: number): Promise<{ url: string; close: () => Promise<void> }>;

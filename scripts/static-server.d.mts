export function resolveInside(root: string, folders: string[], requestUrl: string | undefined): string | undefined;
export function serveStatic(root: string, isolated: boolean, port?: number, allow?: string[], cdn?: boolean): Promise<{ url: string; close: () => Promise<void> }>;

// The command's own dependencies (fastify for `serve`, cli-progress for `score`) are optional peers:
// a library-only install does not pull them in. Each is imported when its command runs, and a missing
// one is a one-line UNSUPPORTED error that says what to install.
import { OVMemoryError } from '../index.js';

/** Runs `load` (a dynamic import); a missing `pkg` becomes UNSUPPORTED naming `npm install <spec>`. */
export async function importOptional<T>(load: () => Promise<T>, pkg: string, spec: string, user: string): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const { code, message } = error as { code?: unknown; message?: unknown };
    if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && String(message).includes(`'${pkg}'`)) {
      throw new OVMemoryError('UNSUPPORTED', `${user} needs ${pkg}, an optional peer dependency: npm install ${spec}`, { cause: error });
    }
    throw error;
  }
}

// The frameworks are optional peer dependencies: each adapter imports its framework when the adapter
// itself is imported (a top-level await), so that a missing one is a one-line UNSUPPORTED error
// saying what to install rather than Node's "Cannot find package". The command line has the same
// helper over its own bundle of the library (src/cli/optional-dependency.ts); this one reaches the
// library through its public entry, as every subpath export does, so its error is the user's class.
import { OVMemoryError } from 'ov-memory';

/** Runs `load` (a dynamic import of `pkg`); a missing `pkg` becomes UNSUPPORTED naming `npm install <spec>`. */
export async function importPeer<T>(load: () => Promise<T>, pkg: string, spec: string, entry: string): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const { code, message } = error as { code?: unknown; message?: unknown };
    if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && String(message).includes(`'${pkg}`)) {
      throw new OVMemoryError('UNSUPPORTED', `${entry} needs ${pkg}, an optional peer dependency: npm install ${spec}`, {
        cause: error,
        details: { package: pkg },
      });
    }
    throw error;
  }
}

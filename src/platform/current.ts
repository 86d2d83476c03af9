// Node's platform; the browser build replaces this module with ./browser.ts.
export { platform } from './node.js';

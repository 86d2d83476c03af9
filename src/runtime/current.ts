// Node's runtime; the browser build replaces this module with ./browser.ts.
export { runtime } from './node.js';

// The extension of this package's own modules: `.ts` when Node runs the sources (type stripping),
// `.js` in the built package. Worker entry points are loaded by file URL, so they are named with it.
export const MODULE_EXT = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

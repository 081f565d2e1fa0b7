/** bunc's version, the runtime-spec version it implements, and the Bun it was built with. */
export const VERSION = "0.1.0";
export const SPEC_VERSION = "1.3.0";

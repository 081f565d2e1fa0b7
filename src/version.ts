/** bunc's version, the git commit it was built from, and the runtime-spec version it implements. */
export const VERSION = "0.1.0";
export const SPEC_VERSION = "1.3.0";

/** Replaced by scripts/build.ts with `git describe` of the tree it builds ("" outside git); undefined when run from source. */
declare const BUNC_GIT_COMMIT: string | undefined;
/** The git commit of this build, or "unknown". */
export const COMMIT = typeof BUNC_GIT_COMMIT === "string" && BUNC_GIT_COMMIT !== "" ? BUNC_GIT_COMMIT : "unknown";

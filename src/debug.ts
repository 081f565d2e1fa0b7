/**
 * --debug's sink. The CLI sets `debug.log` when --debug is given; code below
 * src/cli/ calls `debug.log?.(`…`)`. With --debug off the optional call
 * skips its argument, so no message is built on anyone's start-up path.
 */
export const debug: { log?: (msg: string) => void } = {};

/**
 * Lifecycle hooks (config.md "POSIX-platform Hooks"). The ones that run in
 * the runtime namespace — prestart, createRuntime, poststart, poststop —
 * run here, in the parent; createContainer and startContainer run inside
 * the container, started by the executor (compile.ts adds OP_HOOK). Each
 * gets the container's state on stdin, its own args and env, and a timeout.
 */
import { accessSync, constants, statSync } from "node:fs";
import { BuncError } from "../errors";
import { debug } from "../debug";
import { SIGNALS, signalText } from "../linux/signals";
import type { Hook, Hooks } from "../spec/config";

/** The state a hook reads on stdin (runtime.md "State"); pid is left out when 0, as runc. */
export interface HookState {
  ociVersion: string;
  id: string;
  status: "creating" | "created" | "running" | "stopped";
  pid?: number;
  bundle: string;
  annotations?: Record<string, string>;
}

export function stateJson(s: HookState): string {
  const out: Record<string, unknown> = { ociVersion: s.ociVersion, id: s.id, status: s.status };
  if (s.pid) out.pid = s.pid;
  out.bundle = s.bundle;
  if (s.annotations && Object.keys(s.annotations).length) out.annotations = s.annotations;
  return JSON.stringify(out);
}

export type HookKind = "prestart" | "createRuntime" | "createContainer" | "startContainer" | "poststart" | "poststop";

/** Run hooks one after the other; the first failure throws (code "HOOK"). */
export function runHooks(kind: HookKind, hooks: readonly Hook[] | undefined, state: HookState): void {
  for (const hook of hooks ?? []) runHook(kind, hook, state);
}

/**
 * Run hooks whose failure the spec makes a warning (poststart, poststop):
 * every one runs; the failures come back as messages.
 */
export function runHooksWarning(kind: HookKind, hooks: readonly Hook[] | undefined, state: HookState): string[] {
  const warnings: string[] = [];
  for (const hook of hooks ?? []) {
    try {
      runHook(kind, hook, state);
    } catch (e) {
      warnings.push((e as Error).message);
    }
  }
  return warnings;
}

function runHook(kind: HookKind, hook: Hook, state: HookState): void {
  const what = `${kind} hook ${JSON.stringify(hook.path)}`;
  debug.log?.(`running ${what}`);
  let r: ReturnType<typeof Bun.spawnSync>;
  try {
    r = Bun.spawnSync([hook.path, ...(hook.args ?? []).slice(1)], {
      argv0: hook.args?.[0] ?? hook.path,
      env: Object.fromEntries((hook.env ?? []).map((e) => [e.slice(0, e.indexOf("=") >>> 0), e.slice(e.indexOf("=") + 1)])),
      stdin: Buffer.from(stateJson(state)),
      stdout: "pipe",
      stderr: "pipe",
      timeout: hook.timeout ? hook.timeout * 1000 : undefined,
      killSignal: "SIGKILL",
    });
  } catch (e) {
    throw new BuncError(`${what}: ${(e as Error).message}`, { code: "HOOK", cause: e });
  }
  if (r.exitCode === 0) return;
  const output = `${r.stderr?.toString() ?? ""}${r.stdout?.toString() ?? ""}`.trim().slice(0, 500);
  const how = r.exitedDueToTimeout
    ? `timed out after ${hook.timeout}s`
    : r.signalCode
      ? signalText(SIGNALS[r.signalCode] ?? 0)
      : `exit status ${r.exitCode}`;
  throw new BuncError(`${what} failed: ${how}${output ? `: ${output}` : ""}`, { code: "HOOK" });
}

/** Whether the config has hooks of a kind. */
export function has(hooks: Hooks | undefined, kind: HookKind): boolean {
  return (hooks?.[kind]?.length ?? 0) > 0;
}

/**
 * Before anything is created: every hook that runs from the runtime's
 * namespace must name an executable file (startContainer resolves in the
 * container and is checked when it runs).
 */
export function checkHookPaths(hooks: Hooks | undefined): void {
  for (const kind of ["prestart", "createRuntime", "createContainer", "poststart", "poststop"] as const) {
    (hooks?.[kind] ?? []).forEach((h, i) => {
      try {
        if (!statSync(h.path).isFile()) throw new Error("not a regular file");
        accessSync(h.path, constants.X_OK);
      } catch (e) {
        const why = (e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as NodeJS.ErrnoException).code === "EACCES" ? "not executable" : (e as Error).message;
        throw new BuncError(`config.json: hooks.${kind}[${i}].path ${JSON.stringify(h.path)}: ${why}`, { code: "CONFIG" });
      }
    });
  }
}

import { existsSync, readFileSync, rmSync } from "node:fs";
import { STATE_FILE, type ServerState } from "./tests/server";

/** Stops the server (gracefully, as an operator would) and removes its database. */
export default async function globalTeardown(): Promise<void> {
  if (!existsSync(STATE_FILE)) return;
  const state: ServerState = JSON.parse(readFileSync(STATE_FILE, "utf8"));
    for (const pid of [state.pid, state.smtpPid]) {
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      // already gone
    }
  }
  await new Promise((r) => setTimeout(r, 500));
  if (process.env.PORTICO_E2E_KEEP) {
    console.log(`Kept the end-to-end database and server log in ${state.dir}`);
  } else {
    rmSync(state.dir, { recursive: true, force: true });
  }
  rmSync(STATE_FILE, { force: true });
}

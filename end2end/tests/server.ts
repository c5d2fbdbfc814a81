import { readFileSync } from "node:fs";
import { join } from "node:path";

/** Where global setup records the server it started. */
export const STATE_FILE = join(__dirname, "..", ".server-state.json");

export interface ServerState {
  baseURL: string;
  setupLink: string;
  pid: number;
  dir: string;
}

export function serverState(): ServerState {
  return JSON.parse(readFileSync(STATE_FILE, "utf8"));
}

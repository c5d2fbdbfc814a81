import { readFileSync } from "node:fs";
import { join } from "node:path";

/** Where global setup records the server it started. */
export const STATE_FILE = join(__dirname, "..", ".server-state.json");

export interface ServerState {
  baseURL: string;
  setupLink: string;
  pid: number;
  dir: string;
  binary: string;
    databaseUrl: string;
  secretFile: string;
  /** Where the loopback SMTP server keeps received mail (a maildir). */
  mailDir: string;
  smtpPid: number;
}

export function serverState(): ServerState {
  return JSON.parse(readFileSync(STATE_FILE, "utf8"));
}

/** Runs a `portico` admin command against the test server's database. */
export function portico(...args: string[]): string {
  const { execFileSync } = require("node:child_process") as typeof import("node:child_process");
  const state = serverState();
  return execFileSync(state.binary, args, {
    env: { ...process.env, DATABASE_URL: state.databaseUrl, PORTICO_SECRET_FILE: state.secretFile, PORTICO_LOG: "warn" },
    encoding: "utf8",
  });
}

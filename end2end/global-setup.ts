import { spawn } from "node:child_process";
import { createWriteStream, mkdtempSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { STATE_FILE, type ServerState } from "./tests/server";

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

/** Starts the built `portico` binary on a free port with an empty database. */
export default async function globalSetup(): Promise<void> {
  const root = resolve(__dirname, "..");
  const binary = process.env.PORTICO_BIN ?? join(root, "target", "debug", "portico");
  const dir = mkdtempSync(join(tmpdir(), "portico-e2e-"));
  const port = await freePort();
  // `localhost`, not an IP address: browsers allow WebAuthn only under a
  // domain name (and treat localhost as a secure context).
  const baseURL = `http://localhost:${port}`;

    // A real SMTP server on loopback (aiosmtpd, installed by `make e2e`): every
  // email the portal sends lands as a file in mail/new, where tests read it.
  const python = process.env.PORTICO_TEST_PYTHON ?? join(root, "target", "test-tools", "venv", "bin", "python");
  const smtpPort = await freePort();
  const mailDir = join(dir, "mail");
  const smtp = spawn(python, ["-m", "aiosmtpd", "-n", "-l", `127.0.0.1:${smtpPort}`, "-c", "aiosmtpd.handlers.Mailbox", mailDir], {
    stdio: "ignore",
    detached: true,
  });
  smtp.unref();
  for (let i = 0; ; i++) {
    const up = await new Promise<boolean>((done) => {
      const socket = connect(smtpPort, "127.0.0.1", () => {
        socket.end();
        done(true);
      });
      socket.once("error", () => done(false));
    });
    if (up) break;
    if (i > 100) throw new Error(`aiosmtpd did not start with ${python}; run make tool-aiosmtpd`);
    await new Promise((r) => setTimeout(r, 100));
  }

  const child = spawn(binary, [], {
    cwd: root,
    env: {
      ...process.env,
      PORTICO_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
      DATABASE_URL: `sqlite://${join(dir, "portico.db")}`,
      PORTICO_SECRET_FILE: join(dir, "server.secret"),
      PORTICO_LISTEN: `127.0.0.1:${port}`,
      // Tests ask /v1/forward-auth as a gateway on this machine would.
      PORTICO_GATEWAY_ADDRESSES: "127.0.0.1",
      // Every test signs up from 127.0.0.1: an office of testers.
      PORTICO_SIGN_UPS_PER_ADDRESS: "1000",
      PORTICO_PUBLIC_URL: baseURL,
      PORTICO_LOG: process.env.PORTICO_LOG ?? "warn",
      LEPTOS_SITE_ROOT: join(root, "target", "site"),
    },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });

  // Everything the server prints also goes to server.log beside its database.
  const log = createWriteStream(join(dir, "server.log"));
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);

  let output = "";
  const onDataRef: { fn?: (chunk: Buffer) => void } = {};
  const setupLink = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`server did not start:\n${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      process.stderr.write(chunk);
      const link = output.match(/(http:\/\/\S+\/setup\?token=[0-9a-f]+)/);
      if (link && output.includes("Portico is serving")) {
        clearTimeout(timer);
        done(link[1]);
      }
    };
    onDataRef.fn = onData;
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      fail(new Error(`server exited with ${code}:\n${output}`));
    });
  });
  child.stdout!.removeListener("data", onDataRef.fn!);
  child.stderr!.removeListener("data", onDataRef.fn!);
  child.stderr!.on("data", (chunk: Buffer) => process.stderr.write(chunk));
  child.removeAllListeners("exit");
  child.unref();

  const state: ServerState = {
    baseURL,
    setupLink,
    pid: child.pid!,
    dir,
    binary,
        databaseUrl: `sqlite://${join(dir, "portico.db")}`,
    secretFile: join(dir, "server.secret"),
    mailDir,
    smtpPid: smtp.pid!,
  };
  writeFileSync(STATE_FILE, JSON.stringify(state));
  process.env.BASE_URL = baseURL;
}

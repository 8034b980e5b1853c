/**
 * A throwaway `redis-server` for tests (not a test file itself): started on
 * 127.0.0.1 with a free port in its own temporary directory, stopped with
 * its directory removed. Loopback only, never a shared server.
 *
 * @module
 */

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, Socket } from "node:net";
import { connect as connectTls } from "node:tls";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** How to start a server. */
export interface RedisServerOptions {
  /** `--requirepass` for the default user. */
  readonly password?: string;
  /** An ACL user made at start-up: `user` with `password`, allowed every command and key. */
  readonly user?: { readonly name: string; readonly password: string };
  /** `appendonly yes` + `appendfsync always` (tokens survive a restart). */
  readonly appendonly?: boolean;
  /** A fixed port (a restart on the same port); default: a free one. */
  readonly port?: number;
  /** An existing directory to run in (a restart keeping the data); default: a new one. */
  readonly dir?: string;
  /** Port of a master on 127.0.0.1 to replicate (`--replicaof`). */
  readonly replicaOf?: number;
  /** `--cluster-enabled yes` (a node of a Redis Cluster; its bus is port + 10000). */
  readonly cluster?: boolean;
  /** Serve TLS only (`--port 0 --tls-port PORT`): PEM files of the server's certificate, its key and the CA (clients need no certificate). */
  readonly tls?: {
    readonly cert: string;
    readonly key: string;
    readonly ca: string;
  };
}

/** A running server. */
export interface RedisServer {
  /** Its port on 127.0.0.1. */
  readonly port: number;
  /** Its working directory (data files). */
  readonly dir: string;
  /** `redis://127.0.0.1:PORT` (`rediss://` with `tls`; no credentials). */
  readonly url: string;
  /** The process. */
  readonly process: ChildProcess;
  /** SIGKILLs it and waits for the exit; keeps the directory. */
  kill(): Promise<void>;
  /** Starts a new server on the same port and directory, with the same options. */
  restart(): Promise<RedisServer>;
  /** Kills it and removes its directory. */
  stop(): Promise<void>;
}

/** Whether `redis-server` is on PATH. */
export function haveRedisServer(): boolean {
  try {
    return spawnSync("redis-server", ["--version"]).status === 0;
  } catch {
    return false;
  }
}

/** A port on 127.0.0.1 nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once `PING` on `port` answers (with any reply: `-NOAUTH` counts), or rejects after `ms`. */
async function waitUntilAnswering(
  port: number,
  child: ChildProcess,
  ms: number,
  tls = false,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`redis-server on port ${port} exited at start-up`);
    }
    const answered = await new Promise<boolean>((resolve) => {
      const socket = tls
        ? connectTls({ port, host: "127.0.0.1", rejectUnauthorized: false })
        : new Socket();
      const done = (ok: boolean) => {
        socket.destroy();
        resolve(ok);
      };
      socket.setTimeout(500, () => done(false));
      socket.once("error", () => done(false));
      socket.once("data", () => done(true));
      if (tls) socket.once("secureConnect", () => socket.write("PING\r\n"));
      else socket.connect(port, "127.0.0.1", () => socket.write("PING\r\n"));
    });
    if (answered) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`redis-server on port ${port} did not answer in ${ms} ms`);
}

/** Starts a server; see `RedisServerOptions`. */
export async function startRedis(
  options: RedisServerOptions = {},
): Promise<RedisServer> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "memshare-redis-"));
  const port = options.port ?? await freePort();
  const args = [
    "--bind",
    "127.0.0.1",
    "--port",
    options.tls === undefined ? String(port) : "0",
    "--dir",
    dir,
    "--save",
    "",
    "--daemonize",
    "no",
    "--loglevel",
    "warning",
    "--protected-mode",
    "yes",
  ];
  if (options.appendonly) {
    args.push("--appendonly", "yes", "--appendfsync", "always");
  } else {
    args.push("--appendonly", "no");
  }
  if (options.password !== undefined) {
    args.push("--requirepass", options.password);
  }
  if (options.cluster) {
    args.push(
      "--cluster-enabled",
      "yes",
      "--cluster-config-file",
      join(dir, "nodes.conf"),
      "--cluster-node-timeout",
      "2000",
    );
  }
  if (options.tls !== undefined) {
    args.push(
      "--tls-port",
      String(port),
      "--tls-cert-file",
      options.tls.cert,
      "--tls-key-file",
      options.tls.key,
      "--tls-ca-cert-file",
      options.tls.ca,
      "--tls-auth-clients",
      "no",
    );
  }
  if (options.replicaOf !== undefined) {
    args.push("--replicaof", "127.0.0.1", String(options.replicaOf));
  }
  const child = spawn("redis-server", args, {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const exited = new Promise<void>((resolve) =>
    child.on("close", () => resolve())
  );
  try {
    await waitUntilAnswering(port, child, 10_000, options.tls !== undefined);
  } catch (error) {
    child.kill("SIGKILL");
    await exited;
    if (options.dir === undefined) {
      rmSync(dir, { recursive: true, force: true });
    }
    throw new Error(`${(error as Error).message}: ${stderr}`);
  }
  if (options.user !== undefined) {
    const auth = options.password === undefined
      ? []
      : ["-a", options.password, "--no-auth-warning"];
    const result = spawnSync("redis-cli", [
      "-p",
      String(port),
      ...auth,
      "ACL",
      "SETUSER",
      options.user.name,
      "on",
      `>${options.user.password}`,
      "~*",
      "&*",
      "+@all",
    ], { encoding: "utf8" });
    if (result.status !== 0 || !result.stdout.includes("OK")) {
      throw new Error(`ACL SETUSER failed: ${result.stdout} ${result.stderr}`);
    }
  }
  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
    }
    await exited;
  };
  return {
    port,
    dir,
    url: `${
      options.tls === undefined ? "redis" : "rediss"
    }://127.0.0.1:${port}`,
    process: child,
    kill,
    restart: async () => {
      await kill();
      return startRedis({ ...options, port, dir });
    },
    stop: async () => {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs `redis-cli -p PORT args…` and returns its stdout (throws on failure). */
export function redisCli(
  port: number,
  args: string[],
  password?: string,
): string {
  const auth = password === undefined
    ? []
    : ["-a", password, "--no-auth-warning"];
  const result = spawnSync(
    "redis-cli",
    ["-p", String(port), ...auth, ...args],
    {
      encoding: "utf8",
    },
  );
  if (result.status !== 0) {
    throw new Error(`redis-cli ${args.join(" ")}: ${result.stderr}`);
  }
  return result.stdout;
}

/** A port whose cluster bus port (+ 10000) is free too. */
async function freeClusterPort(): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const port = await freePort();
    if (port + 10_000 > 65_535) continue;
    const bus = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once("error", () => resolve(false));
      server.listen(
        port + 10_000,
        "127.0.0.1",
        () => server.close(() => resolve(true)),
      );
    });
    if (bus) return port;
  }
  throw new Error("no free port pair for a cluster node");
}

/** A local Redis Cluster of `masters` nodes (no replicas). */
export interface RedisCluster {
  /** The nodes. */
  readonly nodes: RedisServer[];
  /** The URL of the first node. */
  readonly url: string;
  /** Stops every node and removes their directories. */
  stop(): Promise<void>;
}

/** Starts `masters` cluster nodes on loopback and joins them (`redis-cli --cluster create`). */
export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const nodes: RedisServer[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  };
  try {
    for (let i = 0; i < masters; i++) {
      nodes.push(
        await startRedis({ cluster: true, port: await freeClusterPort() }),
      );
    }
    const result = spawnSync("redis-cli", [
      "--cluster",
      "create",
      ...nodes.map((n) => `127.0.0.1:${n.port}`),
      "--cluster-replicas",
      "0",
      "--cluster-yes",
    ], { encoding: "utf8" });
    if (result.status !== 0) {
      throw new Error(
        `redis-cli --cluster create: ${result.stdout} ${result.stderr}`,
      );
    }
    const deadline = Date.now() + 20_000;
    for (const node of nodes) {
      while (
        !redisCli(node.port, ["CLUSTER", "INFO"]).includes("cluster_state:ok")
      ) {
        if (Date.now() > deadline) {
          throw new Error("the cluster never became ok");
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    return { nodes, url: nodes[0].url, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

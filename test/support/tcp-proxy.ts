import { type AddressInfo, createConnection, createServer, type Socket } from 'node:net';

/** What the proxy does with a connection it has been told to fail. */
export interface CuttableProxy {
  readonly port: number;
  /** Resets every connection: the client sees ECONNRESET, with no message from the server first. */
  cut(): void;
  /** While refusing, every new connection is reset as soon as it is accepted (the server seems down). */
  refuse(refusing: boolean): void;
  /**
   * While armed, a connection that sends a simple-query `COMMIT`, or gets any answer from the server, has that
   * answer dropped and is then reset: the transaction committed, the client never hears so (an acknowledgement
   * lost to the network). An append is one statement, its own transaction: its answer is its commit's.
   */
  loseCommitAcknowledgements(armed: boolean): void;
  /** How many connections lost a commit acknowledgement so far. */
  readonly lostAcknowledgements: number;
  close(): Promise<void>;
}

/** A PostgreSQL simple-query message (`Q`, length, text) whose text is COMMIT. */
const isCommitQuery = (chunk: Buffer): boolean =>
  chunk[0] === 0x51 && /^\s*COMMIT\b/i.test(chunk.subarray(5).toString('latin1'));

/** A TCP proxy to PostgreSQL (or any TCP server) whose connections a test can cut, as a network failure would. */
export async function cuttableProxy(target: URL, defaultPort = 5432): Promise<CuttableProxy> {
  const sockets = new Set<Socket>();
  let refusing = false;
  let losingAcks = false;
  let lost = 0;
  const server = createServer((client) => {
    if (refusing) {
      client.on('error', () => {});
      client.resetAndDestroy();
      return;
    }
    const upstream = createConnection(Number(target.port || defaultPort), target.hostname);
    let commitSent = false;
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (chunk: Buffer) => {
      if (losingAcks && isCommitQuery(chunk)) commitSent = true;
      if (!upstream.write(chunk)) client.pause();
    });
    upstream.on('drain', () => client.resume());
    upstream.on('data', (chunk: Buffer) => {
      if (commitSent || losingAcks) {
        // The server has answered the COMMIT, so it is durable; the answer never arrives.
        lost++;
        client.resetAndDestroy();
        upstream.destroy();
        return;
      }
      if (!client.write(chunk)) upstream.pause();
    });
    client.on('drain', () => upstream.resume());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    cut: () => {
      for (const s of sockets) s.resetAndDestroy();
    },
    refuse: (value) => {
      refusing = value;
    },
    loseCommitAcknowledgements: (value) => {
      losingAcks = value;
    },
    get lostAcknowledgements() {
      return lost;
    },
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The URL with its host replaced by the proxy's address. */
export function viaProxy(url: string, proxy: Pick<CuttableProxy, 'port'>): string {
  const proxied = new URL(url);
  proxied.host = `127.0.0.1:${proxy.port}`;
  return proxied.toString();
}

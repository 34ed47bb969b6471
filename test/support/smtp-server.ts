import { createServer, Server, Socket } from 'node:net';

export interface Mail {
  to: string[];
  /** The message's header as it came: its lines joined by CRLF, folded ones as folded. */
  head: string;
  text: string;
}

export interface SmtpServer {
  url: string;
  mails: Mail[];
  /** Every RCPT TO address asked for, in order, refused or not. */
  recipients: string[];
  /**
   * Addresses to refuse, each with the reply RCPT TO gets ("550 5.1.1 <a@b>: no such user"), or
   * a function answering it, to do something first while the client waits for the reply (a
   * function answering nothing takes the recipient, as a slow server would at last).
   */
  refuse: Map<string, string | (() => Promise<string | undefined>)>;
  /**
   * Addresses whose messages are refused only once their content is in, each with the reply to
   * the end of DATA ("550 5.1.1 user unknown"), as servers that check recipients late do.
   */
  refuseData: Map<string, string>;
  close: () => Promise<void>;
}

/**
 * A mail server for the application's SMTP_URL: just enough SMTP (RFC 5321) to take messages,
 * so the e-mails go out through the real transport and are read here as a mailbox would. It
 * refuses the recipients in `refuse` with their reply, as a real server would a bad address, and
 * the messages to those in `refuseData` with theirs once the message is in.
 */
export async function smtpServer(): Promise<SmtpServer> {
  const mails: Mail[] = [];
  const recipients: string[] = [];
  const refuse: SmtpServer['refuse'] = new Map();
  const refuseData: SmtpServer['refuseData'] = new Map();
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffer = '';
    let to: string[] = [];
    let data: string[] | null = null;
    const reply = (line: string) => socket.write(`${line}\r\n`);
    reply('220 test-smtp ready');
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      for (let i = buffer.indexOf('\r\n'); i >= 0; i = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        if (data) {
          if (line !== '.') {
            data.push(line.startsWith('.') ? line.slice(1) : line);
            continue;
          }
          const refusal = to.map((address) => refuseData.get(address)).find((r) => r !== undefined);
          if (refusal) {
            data = null;
            to = [];
            reply(refusal);
            continue;
          }
          const raw = data.join('\r\n');
          const [head, ...body] = raw.split('\r\n\r\n');
          const qp = /content-transfer-encoding:\s*quoted-printable/i.test(head);
          const text = body.join('\r\n\r\n');
          mails.push({ to, head, text: qp ? text.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16))) : text });
          data = null;
          to = [];
          reply('250 queued');
          continue;
        }
        const verb = line.split(' ')[0].toUpperCase();
        if (verb === 'EHLO' || verb === 'HELO') reply('250 test-smtp');
        else if (verb === 'RCPT') {
          const address = /<([^>]*)>/.exec(line)?.[1] ?? '';
          recipients.push(address);
          const refusal = refuse.get(address);
          // The client sends nothing more before this reply (no PIPELINING is offered).
          // A mailbox without a domain is refused, as a real server refuses it.
          const take = () => {
            to.push(address);
            reply('250 ok');
          };
          if (!/@[^@"\s]+$/.test(address)) reply('501 5.1.3 Bad recipient address syntax');
          else if (typeof refusal === 'function') void refusal().then((r) => (r === undefined ? take() : reply(r)), (err) => reply(`451 ${String(err)}`));
          else if (refusal) reply(refusal);
          else take();
        } else if (verb === 'DATA') {
          data = [];
          reply('354 end with .');
        } else if (verb === 'QUIT') {
          reply('221 bye');
          socket.end();
        } else reply('250 ok');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    recipients,
    refuse,
    refuseData,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

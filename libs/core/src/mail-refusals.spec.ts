import { enhancedStatus, Refusal, refusedForGood } from './mail-refusals';

describe('refusedForGood', () => {
  it('holds a permanent refusal of the recipient’s address or of the message', () => {
    expect(refusedForGood({ code: 'EENVELOPE', command: 'RCPT TO', responseCode: 550, permanent: true })).toBe('ADDRESS');
    expect(refusedForGood({ code: 'EMESSAGE', command: 'DATA', responseCode: 552, permanent: true })).toBe('MESSAGE');
    // A transport that does not say: the reply's class does.
    expect(refusedForGood({ code: 'EENVELOPE', command: 'RCPT TO', responseCode: 550 })).toBe('ADDRESS');
  });

  it('holds nodemailer’s own refusal of a recipient it has no address to send to (no reply from the server): the address', () => {
    expect(refusedForGood({ code: 'EENVELOPE', command: 'API', message: 'No recipients defined' })).toBe('ADDRESS');
    expect(refusedForGood({ code: 'EENVELOPE', command: 'API', message: 'Invalid recipient "a\r\nb@example.org"' })).toBe('ADDRESS');
  });

  it('leaves for another try a refusal of the moment, or of our own setup', () => {
    expect(refusedForGood({ code: 'EENVELOPE', command: 'API', message: 'Invalid sender "a\r\nb@example.org"' })).toBeNull();
    expect(refusedForGood({ code: 'EENVELOPE', command: 'API', message: 'Invalid DSN NOTIFY' })).toBeNull();
    expect(refusedForGood({ code: 'EENVELOPE', command: 'RCPT TO', responseCode: 451, permanent: false })).toBeNull();
    expect(refusedForGood({ code: 'EENVELOPE', command: 'RCPT TO', responseCode: 503, permanent: false })).toBeNull();
    expect(refusedForGood({ code: 'EENVELOPE', command: 'RCPT TO', responseCode: 503 })).toBeNull();
    expect(refusedForGood({ code: 'EAUTH', command: 'AUTH PLAIN', responseCode: 535, permanent: true })).toBeNull();
    expect(refusedForGood({ code: 'EENVELOPE', command: 'MAIL FROM', responseCode: 553, permanent: true })).toBeNull();
    expect(refusedForGood({ code: 'ECONNECTION', command: 'CONN' })).toBeNull();
    expect(refusedForGood({})).toBeNull();
  });

  // As nodemailer reports a reply: its code, whether it is permanent, the reply itself.
  const at = (command: 'RCPT TO' | 'DATA', response: string) => {
    const responseCode = Number(response.slice(0, 3));
    return { code: command === 'DATA' ? 'EMESSAGE' : 'EENVELOPE', command, response, responseCode, permanent: responseCode >= 500 && responseCode !== 503 };
  };

  it('reads the enhanced status code first in a reply, of the reply’s class, and nothing of its text', () => {
    expect(enhancedStatus(at('DATA', '550 5.1.1 <a@example.org>: Recipient address rejected'))).toBe('5.1.1');
    expect(enhancedStatus(at('DATA', '550-5.1.1 The email account that you tried to reach does not exist.\n550 5.1.1 https://support.example/answer'))).toBe('5.1.1');
    expect(enhancedStatus(at('DATA', '554 5.1.10 Recipient address has null MX'))).toBe('5.1.10');
    expect(enhancedStatus(at('DATA', '550 Requested action not taken: mailbox unavailable (5.1.1 in the text)'))).toBeNull();
    // RFC 2034: the status's class is the reply's; one at odds with it is not believed.
    expect(enhancedStatus(at('DATA', '550 4.1.1 odd'))).toBeNull();
    expect(enhancedStatus(at('DATA', '550 5.1.1000 too long'))).toBeNull();
    expect(enhancedStatus({ code: 'ECONNECTION', command: 'CONN' })).toBeNull();
  });

  /** Every reply makes of a refusal `atRcpt` at RCPT TO and `atData` at DATA (compared as `[reply, at RCPT TO, at DATA]`, so a failure names the reply). */
  const expectJudged = (replies: string[], atRcpt: Refusal | null, atData: Refusal | null) =>
    expect(replies.map((reply) => [reply, refusedForGood(at('RCPT TO', reply)), refusedForGood(at('DATA', reply))])).toEqual(replies.map((r) => [r, atRcpt, atData]));

  it('counts a destination address status as the address, at DATA as at RCPT TO', () => {
    expectJudged(
      [
        '550 5.1.1 <a@example.org>: Recipient address rejected: User unknown',
        '550-5.1.1 The email account that you tried to reach does not exist.\n550 5.1.1 https://support.example/answer',
        '550 5.1.2 Host unknown',
        '553 5.1.3 Bad destination mailbox address syntax',
        '550 5.1.4 Destination mailbox address ambiguous',
        '550 5.1.6 Mailbox has moved',
        '556 5.1.10 Recipient address has null MX',
        '550 5.2.1 Mailbox disabled, not accepting messages',
      ],
      'ADDRESS',
      'ADDRESS',
    );
  });

  it('counts a refusal of the message, its content, its size or a full mailbox as the message, at RCPT TO as at DATA', () => {
    expectJudged(
      [
        '554 5.7.1 Service unavailable; client host blocked using a blocklist',
        // A policy of the recipient's (or a relay not relaying for us): not the mailbox, never tried again.
        '550 5.7.1 <a@example.org>: Recipient address rejected: Access denied',
        '554 5.7.1 <a@example.org>: Relay access denied',
        '550 5.7.26 Unauthenticated email is not accepted from this domain',
        '554 5.6.0 Message content rejected',
        '552 5.3.4 Message size exceeds fixed maximum message size',
        '552 5.2.2 Mailbox full',
        '552 5.2.3 Message length exceeds administrative limit',
      ],
      'MESSAGE',
      'MESSAGE',
    );
  });

  it('leaves a status about our own sender for another try, at either phase', () => {
    expectJudged(['550 5.1.8 <noreply@example.net>: Sender address rejected: Domain not found', '553 5.1.7 Bad sender address syntax', '550 5.1.11 Sender address has null MX', '550 5.7.27 Sender address has null MX'], null, null);
  });

  it('leaves a refusal without a telling status to its phase: the address at RCPT TO, the message at DATA; for now whatever its status when it is 4xx', () => {
    expectJudged(['550 5.4.1 Recipient address rejected: Access denied', '550 5.0.0 Rejected', '550 5.5.0 mailbox unavailable', '550 No such user here', '550 4.1.1 odd'], 'ADDRESS', 'MESSAGE');
    expectJudged(['451 4.1.1 Recipient lookup failed, try again later', '452 4.2.2 Mailbox full', '450 4.7.1 Greylisted', '451 5.1.1 odd'], null, null);
    // Our own setup, whatever status it gives.
    expect(refusedForGood({ code: 'EAUTH', command: 'AUTH PLAIN', response: '535 5.7.8 Authentication credentials invalid', responseCode: 535, permanent: true })).toBeNull();
    expect(refusedForGood({ code: 'EENVELOPE', command: 'MAIL FROM', response: '550 5.1.1 odd', responseCode: 550, permanent: true })).toBeNull();
  });
});

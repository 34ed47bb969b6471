import { refusedForGood } from './mail-refusals';

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
});

import { refusedForGood } from './email';

describe('refusedForGood', () => {
  it('holds a permanent refusal of the recipient or of the message', () => {
    expect(refusedForGood({ code: 'EENVELOPE', command: 'RCPT TO', responseCode: 550, permanent: true })).toBe(true);
    expect(refusedForGood({ code: 'EMESSAGE', command: 'DATA', responseCode: 552, permanent: true })).toBe(true);
    // A transport that does not say: the reply's class does.
    expect(refusedForGood({ code: 'EENVELOPE', command: 'RCPT TO', responseCode: 550 })).toBe(true);
  });

  it('leaves for another try a refusal of the moment, or of our own setup', () => {
    expect(refusedForGood({ code: 'EENVELOPE', command: 'RCPT TO', responseCode: 451, permanent: false })).toBe(false);
    expect(refusedForGood({ code: 'EENVELOPE', command: 'RCPT TO', responseCode: 503, permanent: false })).toBe(false);
    expect(refusedForGood({ code: 'EENVELOPE', command: 'RCPT TO', responseCode: 503 })).toBe(false);
    expect(refusedForGood({ code: 'EAUTH', command: 'AUTH PLAIN', responseCode: 535, permanent: true })).toBe(false);
    expect(refusedForGood({ code: 'EENVELOPE', command: 'MAIL FROM', responseCode: 553, permanent: true })).toBe(false);
    expect(refusedForGood({ code: 'ECONNECTION', command: 'CONN' })).toBe(false);
    expect(refusedForGood({})).toBe(false);
  });
});

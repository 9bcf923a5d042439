import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { findHeadEnd, HttpError, parseHead, requestUrl } from './http1-parse.ts';

const bytes = (s: string) => new TextEncoder().encode(s);
const status = (head: string) => {
  try {
    parseHead(bytes(head));
    return 0;
  } catch (err) {
    return (err as HttpError).status;
  }
};

describe('http1-parse', () => {
  it('parseHead() reads the request line, headers in order and the framing', () => {
    const h = parseHead(bytes('POST /a?b=1 HTTP/1.1\r\nHost: x:1\r\nContent-Length: 5, 5\r\nX-Two:  a b \r\nconnection: Close\r\n\r\n'));
    assert.deepEqual([h.method, h.target, h.minor, h.contentLength, h.keepAlive, h.chunked], ['POST', '/a?b=1', 1, 5, false, false]);
    assert.deepEqual(h.headers[2], ['x-two', 'a b']);
    const old = parseHead(bytes('GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n'));
    assert.deepEqual([old.minor, old.keepAlive], [0, true]);
  });

  it('parseHead() refuses ambiguous or malformed heads', () => {
    assert.equal(status('GET /  HTTP/1.1\r\nHost: x\r\n\r\n'), 400);
    assert.equal(status('G(T / HTTP/1.1\r\nHost: x\r\n\r\n'), 400);
    assert.equal(status('GET relative HTTP/1.1\r\nHost: x\r\n\r\n'), 400);
    assert.equal(status('GET / HTTP/1.1\r\nHost: x\r\nX: a\nb\r\n\r\n'), 400);
    assert.equal(status('GET / HTTP/1.1\r\nHost: x\r\nX : a\r\n\r\n'), 400);
    assert.equal(status('GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n'), 400);
    assert.equal(status('GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n'), 400);
    assert.equal(status('GET / HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n'), 400);
    assert.equal(status('GET / HTTP/3.0\r\nHost: x\r\n\r\n'), 505);
    assert.equal(status(`GET / HTTP/1.1\r\nHost: x\r\n${'a: b\r\n'.repeat(101)}\r\n`), 431);
  });

  it('requestUrl() resolves against Host, keeps absolute targets and refuses a Host with a path', () => {
    const url = (head: string) => requestUrl(parseHead(bytes(head)), 'fallback:1');
    assert.equal(url('GET /p/../q HTTP/1.1\r\nHost: a.test:80\r\n\r\n'), 'http://a.test/q');
    assert.equal(url('GET http://b.test/z HTTP/1.1\r\nHost: a.test\r\n\r\n'), 'http://b.test/z');
    assert.equal(url('GET / HTTP/1.0\r\n\r\n'), 'http://fallback:1/');
    assert.equal(url('GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n'), 'http://[::1]:8080/');
    assert.throws(() => url('GET / HTTP/1.1\r\nHost: a.test/evil\r\n\r\n'), HttpError);
    assert.throws(() => url('GET / HTTP/1.1\r\nHost: user@a.test\r\n\r\n'), HttpError);
  });

  it('findHeadEnd() finds CRLFCRLF across a resumed search', () => {
    const b = bytes('GET / HTTP/1.1\r\nHost: x\r\n\r\nrest');
    assert.equal(findHeadEnd(b), b.length - 4);
    assert.equal(findHeadEnd(b, b.length - 8), b.length - 4);
    assert.equal(findHeadEnd(bytes('GET / HTTP/1.1\r\n')), -1);
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isValidPeerId, MAX_FRAME_CHARS, parseSignalFrame } from './frames.ts';

describe('parseSignalFrame()', () => {
  it('keeps type, dst and payload and drops fields the stock client may add', () => {
    const frame = parseSignalFrame('{"type":"OFFER","dst":"peer-b","payload":{"sdp":"v=0"},"extra":1}');
    assert.deepEqual(frame, { type: 'OFFER', dst: 'peer-b', payload: { sdp: 'v=0' } });
    assert.deepEqual(parseSignalFrame('{"type":"HEARTBEAT"}'), { type: 'HEARTBEAT' });
  });

  it('throws RangeError for an oversized frame and TypeError for anything malformed', () => {
    assert.throws(() => parseSignalFrame(' '.repeat(MAX_FRAME_CHARS + 1)), RangeError);
    const cases: [string, RegExp][] = [
      ['{oops', /^Cannot accept frame as it is not valid JSON: current value is "\{oops"$/],
      ['[1]', /^Cannot accept frame as it must be a JSON object$/],
      ['null', /^Cannot accept frame as it must be a JSON object$/],
      ['{}', /^Cannot accept frame as 'type' must be one of HEARTBEAT, OFFER, .*: current value is undefined$/],
      ['{"type":"NOPE"}', /^Cannot accept frame as 'type' must be one of .*: current value is "NOPE"$/],
      ['{"type":"OFFER"}', /^Cannot accept OFFER as 'dst' is missing$/],
      ['{"type":"ANSWER","dst":"a  b"}', /^Cannot accept ANSWER as 'dst' must be a peer id: current value is "a {2}b"$/],
      [`{"type":"OFFER","dst":"${'x'.repeat(65)}"}`, /^Cannot accept OFFER as 'dst' must be a peer id: current value is "x{60}\.\.\."$/],
      ['{"type":"CANDIDATE","dst":7}', /'dst' must be a peer id: current value is 7$/],
    ];
    for (const [text, message] of cases) {
      assert.throws(() => parseSignalFrame(text), (err: unknown) => err instanceof TypeError && !(err instanceof RangeError) && message.test(err.message), text);
    }
  });

  it('isValidPeerId() follows the PeerJS rule with a 64-character cap', () => {
    assert.deepEqual(['a', 'a-b c_d', 'x'.repeat(64)].map(isValidPeerId), [true, true, true]);
    assert.deepEqual(['', ' a', 'a  b', 'x'.repeat(65), 7].map(isValidPeerId), [false, false, false, false, false]);
  });
});

import assert from 'node:assert/strict';
import { decide, topLabels } from '../src/model/decision.js';

describe('decision', () => {
  const ten = [...'0123456789'];
  it('picks the most probable digit and applies the threshold', () => {
    const p = [0.01, 0.01, 0.9, 0.01, 0.01, 0.01, 0.01, 0.01, 0.02, 0.01];
    assert.deepEqual(decide(p, ten, 0.5), { digit: 2, candidate: 2, confidence: 0.9, isDigit: true, rejectedBy: null });
    const d = decide(p, ten, 0.95);
    assert.equal(d.isDigit, false);
    assert.equal(d.digit, null);
    assert.equal(d.candidate, 2);
    assert.equal(d.rejectedBy, 'threshold');
  });

  it("rejects when the 'none' class wins, whatever the threshold", () => {
    const p = [0.05, 0, 0, 0, 0.3, 0, 0, 0, 0, 0, 0.65];
    const d = decide(p, [...ten, 'none'], 0);
    assert.equal(d.isDigit, false);
    assert.equal(d.rejectedBy, 'none-class');
    assert.equal(d.candidate, 4);
  });

  it('orders top labels', () => {
    assert.deepEqual(topLabels([0.1, 0.7, 0.2], ['0', '1', '2'], 2), [
      { label: '1', probability: 0.7 },
      { label: '2', probability: 0.2 },
    ]);
  });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ticketFor } from './logic.js';

test('a title makes a ticket with its contact', () => {
  const t = ticketFor({ title_prefix: '[js] ' }, '{"title": " Help ", "email": "ann@example.com"}');
  assert.equal(t.title, '[js] Help');
  assert.equal(t.contact.emails[0].address, 'ann@example.com');
});

test('bad bodies say what is wrong', () => {
  for (const [body, needle] of [['{', 'not JSON'], ['[]', 'JSON object'], ['{"title": " "}', 'title']]) {
    assert.throws(() => ticketFor({}, body), (e) => e.message.includes(needle));
  }
});

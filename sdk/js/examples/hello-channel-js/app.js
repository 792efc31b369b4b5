// hello-channel-js: the hello channel in JavaScript.
//
// POST /c/<team>/hello-channel-js/ with a JSON body {"title", "description",
// "name", "email"} opens a ticket and answers {"ticket": <number>}. GET answers
// a usage line. With the secret `signing_key` set, a POST must carry
// X-Signature: sha256=<hex HMAC-SHA256 of the body>; the host checks it with
// the key (crypto.subtle is asynchronous and unusable here, and HMAC in plain
// JavaScript over a large body does not fit the CPU budget).

import { create } from 'switchboard:plugin/tickets@0.1.11';
import { isSet, verifyHmacSha256 } from 'switchboard:plugin/secrets@0.1.11';
import { ticketFor } from './logic.js';

const encoder = new TextEncoder();

function answer(status, body) {
  return { status, headers: [['content-type', 'application/json']], body: encoder.encode(JSON.stringify(body)) };
}

function header(request, name) {
  const found = request.headers.find(([k]) => k.toLowerCase() === name);
  return found ? found[1] : undefined;
}

function fromHex(text) {
  if (!/^([0-9a-fA-F]{2})*$/.test(text)) return new Uint8Array();
  return Uint8Array.from(text.match(/../g) || [], (pair) => parseInt(pair, 16));
}

export const channelHandler = {
  describe() {
    return { name: 'Hello channel (JavaScript)', summary: 'Turns a POSTed JSON body into a ticket', settingsSchema: '' };
  },

  validateSettings(settings) {
    const parsed = JSON.parse(settings || '{}');
    if (parsed.title_prefix !== undefined && typeof parsed.title_prefix !== 'string') {
      throw { tag: 'invalid-settings', val: 'title_prefix: must be text' };
    }
  },

  handleHttp(settings, request) {
    if (request.method === 'GET') {
      return { status: 200, headers: [['content-type', 'text/plain']], body: encoder.encode('POST a JSON body with a title.\n') };
    }
    if (request.method !== 'POST') {
      return { status: 405, headers: [['allow', 'GET, POST']], body: encoder.encode('use GET or POST\n') };
    }
    if (isSet('signing_key')) {
      const mac = fromHex((header(request, 'x-signature') || '').replace(/^sha256=/, ''));
      if (!verifyHmacSha256('signing_key', request.body, mac)) {
        return answer(401, { error: 'X-Signature is missing or does not match the body' });
      }
    }
    let ticket;
    try {
      ticket = ticketFor(JSON.parse(settings || '{}'), new TextDecoder().decode(request.body));
    } catch (e) {
      return answer(422, { error: String(e.message || e) });
    }
    const created = create(ticket);
    // Ticket numbers are u64, which JavaScript sees as BigInt.
    return answer(201, { ticket: Number(created.id), title: created.title });
  },
};

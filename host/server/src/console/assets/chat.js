// The operator chat console: one websocket to /api/operator/ws, signed in
// by the session cookie. Join or leave a team's chat channel under a chat
// name, see waiting and active conversations with the visitor's page,
// country and language, and talk in the pane. A new waiting chat chimes
// and shows in the tab's title.
import { el, t, teamPicker, when } from './common.js';

const $ = (id) => document.getElementById(id);
let socket = null;
let current = null;
let refs = 0;
let team = null;
let conversations = {};
let seenWaiting = new Set();
let unread = 0;
let onlineIn = null;
const baseTitle = document.title;
const chime = new Audio('/console/assets/chime.wav');

function status(text) { $('status').textContent = text; }

function send(frame) {
  if (!socket || socket.readyState !== WebSocket.OPEN) return;
  refs += 1;
  frame.ref = 'c' + refs;
  socket.send(JSON.stringify(frame));
}

function origin(c) {
  const parts = [c.plugin === 'whatsapp' ? 'WhatsApp' : c.channel];
  if (c.page_url) parts.push(c.page_url);
  if (c.customer) parts.push(c.customer);
  if (c.country) parts.push(t('chat_country', { code: c.country }));
  if (c.language) parts.push(t('chat_language', { code: c.language }));
  return parts.join(' · ');
}

function notifyNew(waiting) {
  const fresh = waiting.filter((c) => !seenWaiting.has(c.id));
  seenWaiting = new Set(waiting.map((c) => c.id));
  if (!fresh.length) return;
  chime.play().catch(() => {});
  if (document.hidden) {
    unread += fresh.length;
    document.title = `(${unread}) ${t('chat_new')} · ${baseTitle}`;
  }
}

document.addEventListener('visibilitychange', () => {
  if (!document.hidden) { unread = 0; document.title = baseTitle; }
});

function showLists() {
  for (const name of ['waiting', 'active']) $(name).textContent = '';
  const waiting = [];
  for (const c of Object.values(conversations)) {
    const list = c.state === 'waiting' ? 'waiting' : c.state === 'with_operator' ? 'active' : null;
    if (!list) continue;
    if (list === 'waiting') waiting.push(c);
    $(list).append(el('li', {}, el('button', {
      type: 'button', class: 'conversation', 'data-conversation': c.id,
      onclick: () => openPane(c, list === 'waiting'),
    }, el('strong', {}, `#${c.id}`), ' ', origin(c), el('small', {}, ' ', when(c.created_at)))));
  }
  notifyNew(waiting);
}

function showTicket(ticket) {
  const holder = $('pane-ticket');
  holder.textContent = '';
  if (ticket) holder.append(el('a', { href: `/console/tickets/${ticket}` }, t('chat_ticket_link', { id: ticket })));
}

function openPane(c, join) {
  current = c.id;
  $('pane').hidden = false;
  $('pane-title').textContent = `#${c.id}`;
  $('pane-origin').textContent = origin(c);
  showTicket(c.ticket);
  $('log').textContent = '';
  send(join ? { type: 'join', conversation: c.id } : { type: 'follow', conversation: c.id, after: 0 });
  $('body').focus();
}

function showMessage(m) {
  if (m.conversation !== current) return;
  const who = m.speaker.type === 'operator' ? m.speaker.name : t(`chat_speaker_${m.speaker.type}`);
  $('log').append(el('li', { class: `entry ${m.speaker.type}`, 'data-seq': m.seq },
    el('div', { class: 'entry-head' }, el('strong', {}, who), el('time', { datetime: m.at }, when(m.at))),
    el('div', { class: 'body' }, m.body)));
  $('log').scrollTop = $('log').scrollHeight;
}

function receive(frame) {
  if (frame.type === 'conversations') {
    conversations = {};
    for (const c of frame.waiting.concat(frame.active, frame.bot)) conversations[c.id] = c;
    showLists();
  } else if (frame.type === 'conversation') {
    conversations[frame.conversation.id] = frame.conversation;
    if (frame.conversation.id === current) showTicket(frame.conversation.ticket);
    showLists();
  } else if (frame.type === 'message') {
    showMessage(frame);
  } else if (frame.type === 'error') {
    status(frame.detail);
  }
}

function connect() {
  if (socket) socket.close();
  const url = location.origin.replace(/^http/, 'ws') + '/api/operator/ws';
  socket = new WebSocket(url, ['switchboard.operator']);
  socket.addEventListener('open', () => {
    status(t('chat_connected'));
    send({ type: 'watch', team });
    document.body.dataset.chatReady = 'true';
  });
  socket.addEventListener('message', (event) => receive(JSON.parse(event.data)));
  socket.addEventListener('close', (event) => {
    status(t('chat_disconnected') + (event.reason ? ': ' + event.reason : ''));
    socket = null;
  });
}

$('online').addEventListener('submit', (event) => {
  event.preventDefault();
  const channel = $('channel').value.trim();
  const name = $('chat-name').value.trim();
  localStorage.setItem('sb-chat-name', name);
  send({ type: 'online', team, channel, name: name || null });
  onlineIn = channel;
  status(t('chat_online_in', { channel }));
});
$('go-offline').addEventListener('click', () => {
  send({ type: 'offline', team, channel: $('channel').value.trim() });
  onlineIn = null;
  status(t('chat_offline'));
});
$('reply').addEventListener('submit', (event) => {
  event.preventDefault();
  const body = $('body').value.trim();
  if (!body || current === null) return;
  send({ type: 'say', conversation: current, body });
  $('body').value = '';
});
$('leave').addEventListener('click', () => { if (current !== null) send({ type: 'leave', conversation: current }); });
$('end').addEventListener('click', () => { if (current !== null) send({ type: 'end', conversation: current }); });
$('chat-name').value = localStorage.getItem('sb-chat-name') || '';
// Stay online: a heartbeat well within the 30 minutes.
setInterval(() => {
  if (onlineIn) send({ type: 'online', team, channel: onlineIn, name: $('chat-name').value.trim() || null });
}, 5 * 60 * 1000);

teamPicker($('team'), (slug) => {
  team = slug;
  const chosen = $('team').selectedOptions[0];
  if (!$('channel').value && chosen) $('channel').value = chosen.textContent;
  connect();
}).catch((error) => status(error.message));

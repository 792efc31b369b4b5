// The agent board: a column per stage, cards sorted by priority then age,
// moved by dragging or by keyboard, and kept live by the team's feed.
import { api, el, t, toast, age, when, stars, priorityName, teamPicker } from './common.js';

const $ = (id) => document.getElementById(id);
let team = null;
let board = null;
let feed = null;
let reloadTimer = null;

// Short badges rather than emoji, which a machine without an emoji font
// shows as empty boxes.
const CHANNEL_BADGES = { 'api': 'API', 'web-form': 'Form', 'live-chat': 'Chat', 'email-alias': 'Mail', 'whatsapp': 'WA' };

function filters() {
  return {
    priority: $('f-priority').value,
    assignee: $('f-assignee').value,
    channel: $('f-channel').value,
    breached: $('f-breached').checked,
    q: $('f-search').value.trim().toLowerCase(),
  };
}

/** Whether a card matches the filters the board shows. */
function matches(card) {
  const f = filters();
  const names = ['low', 'medium', 'high', 'urgent'];
  if (f.priority && names[card.priority] !== f.priority) return false;
  if (f.channel && card.channel !== f.channel) return false;
  if (f.assignee === 'me' && card.assignee_id !== Number(document.body.dataset.userId)) return false;
  if (f.assignee === 'none' && card.assignee_id !== null && card.assignee_id !== undefined) return false;
  if (f.breached && !card.breached) return false;
  if (f.q && !(card.title.toLowerCase().includes(f.q) || (card.contact || '').toLowerCase().includes(f.q))) return false;
  return true;
}

/** Board order: higher priority first, then older first, then lower number. */
function before(a, b) {
  if (a.priority !== b.priority) return b.priority - a.priority;
  if (a.created_at !== b.created_at) return a.created_at < b.created_at ? -1 : 1;
  return a.id - b.id;
}

function cardNode(card) {
  const overdue = card.breached || (card.sla_deadline && new Date(card.sla_deadline) <= new Date());
  const badge = CHANNEL_BADGES[card.channel] || card.channel.slice(0, 6);
  const node = el('li', {
    class: 'ticket-card', tabindex: '0', draggable: 'true', 'data-id': card.id,
    'aria-label': `${card.title}, ${priorityName(card.priority)}`,
  },
    el('div', { class: 'card-top' },
      el('span', { class: 'channel', title: card.channel, 'aria-label': t('board_channel_is', { name: card.channel }) }, badge),
      el('a', { href: `/console/tickets/${card.id}`, class: 'title' }, card.title),
    ),
    el('div', { class: 'card-meta' },
      stars(card.priority, (value) => setPriority(card, value)),
      el('span', { class: 'contact' }, card.contact || t('board_no_contact')),
      card.assignee ? el('span', { class: 'assignee', title: t('board_assignee') }, `→ ${card.assignee}`) : null,
    ),
    el('div', { class: 'card-meta' },
      el('span', { class: 'ref' }, `#${card.id}`),
      el('span', { class: 'age', title: when(card.created_at) }, age(card.created_at)),
      card.sla_deadline || card.breached
        ? el('span', { class: overdue ? 'sla overdue' : 'sla' },
            card.breached ? t('board_sla_breached') : t('board_sla_due', { when: when(card.sla_deadline) }))
        : null,
    ),
  );
  node.addEventListener('dragstart', (event) => {
    event.dataTransfer.setData('text/plain', String(card.id));
    event.dataTransfer.effectAllowed = 'move';
    node.classList.add('dragging');
  });
  node.addEventListener('dragend', () => node.classList.remove('dragging'));
  node.addEventListener('keydown', (event) => onCardKey(event, card));
  node._card = card;
  return node;
}

function columnNode(column) {
  const list = el('ol', { class: 'cards', 'data-stage': column.id, 'aria-label': column.name });
  const section = el('section', { class: column.closing ? 'column closing' : 'column', 'data-stage': column.id },
    el('h2', {}, column.name, ' ', el('span', { class: 'count' }, String(column.count))),
    list,
  );
  for (const card of column.cards) list.append(cardNode(card));
  if (column.count > column.cards.length) {
    section.append(el('p', { class: 'more' }, t('board_more', { n: column.count - column.cards.length })));
  }
  section.addEventListener('dragover', (event) => { event.preventDefault(); section.classList.add('drop'); });
  section.addEventListener('dragleave', () => section.classList.remove('drop'));
  section.addEventListener('drop', (event) => {
    event.preventDefault();
    section.classList.remove('drop');
    const id = Number(event.dataTransfer.getData('text/plain'));
    const node = document.querySelector(`.ticket-card[data-id="${id}"]`);
    if (node && node._card.stage !== column.id) moveTo(node._card, column.id);
  });
  return section;
}

function render() {
  const root = $('board');
  root.textContent = '';
  for (const column of board.columns) root.append(columnNode(column));
  root.setAttribute('aria-busy', 'false');
}

/** Puts `card` where it belongs, or takes it off when it no longer
 * matches: what a change from the feed or from this page does. */
function place(card) {
  const old = document.querySelector(`.ticket-card[data-id="${card.id}"]`);
  const focused = old && old === document.activeElement;
  if (old) {
    const count = old.closest('.column')?.querySelector('.count');
    if (count) count.textContent = String(Number(count.textContent) - 1);
    old.remove();
  }
  if (!matches(card)) return;
  const list = document.querySelector(`ol.cards[data-stage="${card.stage}"]`);
  if (!list) return;
  const node = cardNode(card);
  const next = [...list.children].find((other) => before(card, other._card) < 0);
  list.insertBefore(node, next || null);
  const count = list.closest('.column').querySelector('.count');
  count.textContent = String(Number(count.textContent) + 1);
  if (focused) node.focus();
}

async function moveTo(card, stage) {
  try {
    const moved = await api('PATCH', `/tickets/${card.id}`, { stage: stage });
    place({ ...card, stage: moved.stage.id, sla_deadline: card.sla_deadline });
    toast(t('board_moved', { title: card.title, stage: moved.stage.name }));
  } catch (error) {
    toast(error.message, true);
  }
}

async function setPriority(card, value) {
  try {
    await api('PATCH', `/tickets/${card.id}`, { priority: value });
    place({ ...card, priority: value });
    document.querySelector(`.ticket-card[data-id="${card.id}"]`)?.focus();
  } catch (error) {
    toast(error.message, true);
  }
}

/** Keys on a focused card: arrows move the focus, Shift+arrows move the
 * ticket to the next or previous stage, 0-3 set the priority, Enter opens. */
function onCardKey(event, card) {
  const node = event.currentTarget;
  if (event.target !== node) return;
  const columns = board.columns.map((c) => c.id);
  const at = columns.indexOf(card.stage);
  if (event.shiftKey && (event.key === 'ArrowRight' || event.key === 'ArrowLeft')) {
    const to = columns[at + (event.key === 'ArrowRight' ? 1 : -1)];
    if (to !== undefined) moveTo(card, to).then(() => document.querySelector(`.ticket-card[data-id="${card.id}"]`)?.focus());
  } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
    const sibling = event.key === 'ArrowDown' ? node.nextElementSibling : node.previousElementSibling;
    sibling?.focus();
  } else if (event.key === 'ArrowRight' || event.key === 'ArrowLeft') {
    const list = document.querySelector(`ol.cards[data-stage="${columns[at + (event.key === 'ArrowRight' ? 1 : -1)]}"]`);
    list?.firstElementChild?.focus();
  } else if (/^[0-3]$/.test(event.key)) {
    setPriority(card, Number(event.key));
  } else if (event.key === 'Enter') {
    location.href = `/console/tickets/${card.id}`;
  } else {
    return;
  }
  event.preventDefault();
}

async function load() {
  if (!team) return;
  const f = filters();
  const query = new URLSearchParams();
  if (f.priority) query.set('priority', f.priority);
  if (f.channel) query.set('channel', f.channel);
  if (f.assignee) query.set('assignee', f.assignee);
  if (f.breached) query.set('breached', 'true');
  if (f.q) query.set('q', f.q);
  $('board').setAttribute('aria-busy', 'true');
  try {
    board = await api('GET', `/teams/${encodeURIComponent(team)}/board?${query}`);
  } catch (error) {
    toast(error.message, true);
    return;
  }
  const channel = $('f-channel');
  const chosen = channel.value;
  channel.textContent = '';
  channel.append(el('option', { value: '' }, t('board_any')));
  for (const name of board.channels) channel.append(el('option', { value: name }, name));
  channel.value = board.channels.includes(chosen) ? chosen : '';
  render();
  if (document.body.dataset.boardReady !== 'true') performance.mark('board-ready');
  document.body.dataset.boardReady = 'true';
}

function reloadSoon() {
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(load, 150);
}

function follow() {
  if (feed) feed.close();
  document.body.dataset.live = 'false';
  feed = new EventSource(`/console/events/${encodeURIComponent(team)}`);
  feed.addEventListener('card', (event) => { if (board) place(JSON.parse(event.data)); });
  feed.addEventListener('reload', () => { document.body.dataset.live = 'true'; reloadSoon(); });
  feed.addEventListener('error', () => { document.body.dataset.live = 'false'; });
}

teamPicker($('team'), (slug) => { team = slug; load(); follow(); }).catch((error) => toast(error.message, true));
for (const id of ['f-priority', 'f-assignee', 'f-channel', 'f-breached']) $(id).addEventListener('change', load);
$('f-search').addEventListener('input', reloadSoon);
$('filters').addEventListener('submit', (event) => { event.preventDefault(); load(); });

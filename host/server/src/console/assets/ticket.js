// The ticket page: the thread in distinct styles per kind, reply and note
// boxes, the stage and priority controls, the contact card and fields.
import { api, el, t, toast, when, stars, priorityName } from './common.js';

const $ = (id) => document.getElementById(id);
const id = Number(document.body.dataset.ticket);
let ticket = null;

function authorName(author) {
  if (author.type === 'system') return t('thread_system');
  if (author.type === 'plugin') return t('thread_plugin', { name: author.name || '' });
  return author.name || t('thread_customer');
}

function entryNode(entry) {
  const label = { customer: t('thread_kind_customer'), reply: t('thread_kind_reply'), note: t('thread_kind_note'), event: t('thread_kind_event') }[entry.kind] || entry.kind;
  const delivery = entry.delivery ? el('span', { class: `delivery ${entry.delivery.state}` }, t(`delivery_${entry.delivery.state}`)) : null;
  return el('li', { class: `entry ${entry.kind}`, 'data-id': entry.id },
    el('div', { class: 'entry-head' },
      el('span', { class: 'kind' }, label),
      el('strong', {}, authorName(entry.author)),
      el('time', { datetime: entry.created_at }, when(entry.created_at)),
      delivery,
    ),
    el('div', { class: 'body' }, entry.body),
    entry.attachments && entry.attachments.length
      ? el('ul', { class: 'files' }, entry.attachments.map((file, index) => el('li', {},
          file.dropped ? `${file.name} (${t('thread_file_dropped')})`
            : el('a', { href: file.url || `/api/tickets/${id}/messages/${entry.id}/attachments/${index}`, download: file.name }, file.name))))
      : null,
  );
}

async function loadThread() {
  const entries = await api('GET', `/tickets/${id}/messages`);
  const list = $('thread');
  list.textContent = '';
  for (const entry of entries) list.append(entryNode(entry));
}

function showTicket() {
  $('ticket-title').textContent = `#${ticket.id} ${ticket.title}`;
  document.title = `#${ticket.id} ${ticket.title} · Switchboard`;
  $('ticket-meta').textContent = t('ticket_meta', { channel: ticket.origin, created: when(ticket.created_at) });
  $('back').href = `/console/board?team=${encodeURIComponent(ticket.team)}`;
  const holder = $('stars');
  holder.textContent = '';
  holder.append(stars(ticket.priority, setPriority), ' ', priorityName(ticket.priority));
  const sla = ticket.sla;
  $('sla').textContent = sla ? t('ticket_sla', { policy: sla.policy, deadline: when(sla.deadline), status: t(`sla_${sla.status}`) }) : t('ticket_no_sla');
  $('sla').className = sla && sla.status === 'breached' ? 'overdue' : '';
  $('assignee').textContent = ticket.assignee ? t('ticket_assigned_to', { name: ticket.assignee.name }) : t('ticket_nobody');
  const mine = ticket.assignee && ticket.assignee.id === Number(document.body.dataset.userId);
  $('take').hidden = !!mine;
  $('unassign').hidden = !ticket.assignee;
  showFields();
}

/** The custom fields as a form: each value can be changed or emptied
 * (which removes the field), and a new one added. */
function showFields() {
  const form = $('fields');
  form.textContent = '';
  const names = Object.keys(ticket.fields || {});
  if (!names.length) form.append(el('p', { class: 'hint' }, t('ticket_no_fields')));
  names.forEach((name, i) => {
    form.append(el('label', { for: `field-${i}` }, name),
      el('input', { id: `field-${i}`, 'data-field': name, value: ticket.fields[name], maxlength: '1000' }));
  });
  form.append(
    el('label', { for: 'new-field-name' }, t('ticket_new_field')),
    el('input', { id: 'new-field-name', maxlength: '64', placeholder: 'order_number' }),
    el('label', { for: 'new-field-value' }, t('ticket_new_field_value')),
    el('input', { id: 'new-field-value', maxlength: '1000' }),
    el('p', { class: 'field-error', id: 'err-fields' }),
    el('button', { type: 'submit' }, t('ticket_save_fields')));
}

async function loadStages() {
  const stages = await api('GET', `/teams/${encodeURIComponent(ticket.team)}/stages`);
  const select = $('stage');
  select.textContent = '';
  for (const stage of stages) select.append(el('option', { value: stage.id }, stage.name));
  select.value = String(ticket.stage.id);
}

async function loadContact() {
  const holder = $('contact');
  holder.textContent = '';
  if (!ticket.contact_id) { holder.append(el('p', { class: 'hint' }, t('ticket_no_contact'))); return; }
  const contact = await api('GET', `/contacts/${ticket.contact_id}`);
  const card = el('dl');
  holder.append(card);
  card.append(el('dt', {}, t('contact_name')), el('dd', {}, contact.name || '—'));
  for (const email of contact.emails || []) card.append(el('dt', {}, t('contact_email')), el('dd', {}, el('a', { href: `mailto:${email.address}` }, email.address)));
  for (const phone of contact.phones || []) card.append(el('dt', {}, t('contact_phone')), el('dd', {}, phone.number));
  if (contact.company && contact.company.name) card.append(el('dt', {}, t('contact_company')), el('dd', {}, contact.company.name));
}

async function patch(change) {
  try {
    ticket = await api('PATCH', `/tickets/${id}`, change);
    showTicket();
    await loadThread();
  } catch (error) {
    toast(error.message, true);
  }
}

function setPriority(value) { patch({ priority: value }); }

async function load() {
  try {
    ticket = await api('GET', `/tickets/${id}`);
  } catch (error) {
    $('ticket-title').textContent = error.message;
    return;
  }
  showTicket();
  await Promise.all([loadStages(), loadContact(), loadThread()]).catch((error) => toast(error.message, true));
  document.body.dataset.ticketReady = 'true';
}

$('fields').addEventListener('submit', async (event) => {
  event.preventDefault();
  const fields = {};
  for (const input of $('fields').querySelectorAll('[data-field]')) fields[input.dataset.field] = input.value;
  const name = $('new-field-name').value.trim();
  if (name) fields[name] = $('new-field-value').value;
  try {
    ticket = await api('PATCH', `/tickets/${id}`, { fields });
    showTicket();
    await loadThread();
    toast(t('admin_saved'));
  } catch (error) {
    $('err-fields').textContent = error.message;
  }
});
$('take').addEventListener('click', () => patch({ assignee: Number(document.body.dataset.userId) }));
$('unassign').addEventListener('click', () => patch({ assignee: null }));
$('stage').addEventListener('change', (event) => patch({ stage: Number(event.target.value) }));
$('compose').addEventListener('submit', async (event) => {
  event.preventDefault();
  const kind = event.submitter && event.submitter.value === 'note' ? 'note' : 'reply';
  const body = $('compose-body').value;
  if (!body.trim()) return;
  try {
    await api('POST', `/tickets/${id}/messages`, { kind, body });
    $('compose-body').value = '';
    toast(kind === 'note' ? t('ticket_note_added') : t('ticket_reply_sent'));
    await loadThread();
  } catch (error) {
    toast(error.message, true);
  }
});
load();

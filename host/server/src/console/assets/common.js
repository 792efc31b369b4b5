// What every console page shares: its texts, the API with the session's
// CSRF token, and a safe way to build elements. Every text goes in with
// textContent, never as markup, so nothing a customer or a plugin wrote
// can become part of the page.

const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.getAttribute('content') || '';

let catalog = {};
try { catalog = JSON.parse(meta('catalog') || '{}'); } catch (e) { catalog = {}; }

/** The text of `key` in the page's language, with `{name}` filled from `values`. */
export function t(key, values) {
  let text = catalog[key] || key;
  if (values) for (const [k, v] of Object.entries(values)) text = text.split(`{${k}}`).join(String(v));
  return text;
}

/** An error the API answered: its JSON body, kept whole for the forms. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body && body.detail ? body.detail : `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

/** Calls the API with the session cookie; writes carry the CSRF token. */
export async function api(method, path, body) {
  const headers = { 'x-csrf-token': meta('csrf-token') };
  const init = { method, headers, credentials: 'same-origin' };
  if (body instanceof FormData) {
    init.body = body;
  } else if (body !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch('/api' + path, init);
  if (response.status === 401) { location.href = '/'; throw new ApiError(401, {}); }
  const text = await response.text();
  let parsed = null;
  try { parsed = text ? JSON.parse(text) : null; } catch (e) { parsed = null; }
  if (!response.ok) throw new ApiError(response.status, parsed);
  return parsed;
}

/** Builds an element: attributes from `attrs`, children as nodes or text. */
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Shows a short message in the page's status region. */
export function toast(text, bad) {
  const box = document.getElementById('toast');
  if (!box) return;
  box.textContent = text;
  box.className = bad ? 'show bad' : 'show';
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.className = ''; }, 4000);
}

/** A time as the reader's locale writes it. */
export function when(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  return date.toLocaleString(document.documentElement.lang || undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** How long ago `iso` was, briefly: "5 min", "3 h", "2 d". */
export function age(iso) {
  const minutes = Math.max(0, Math.floor((Date.now() - new Date(iso).getTime()) / 60000));
  if (minutes < 60) return t('age_minutes', { n: minutes });
  if (minutes < 48 * 60) return t('age_hours', { n: Math.floor(minutes / 60) });
  return t('age_days', { n: Math.floor(minutes / 1440) });
}

/** The name of a priority (0-3) in the page's language. */
export function priorityName(stars) {
  return t(['priority_low', 'priority_medium', 'priority_high', 'priority_urgent'][stars] || 'priority_low');
}

/** Three star buttons for a priority of 0-3; `set` gets the new value. */
export function stars(value, set) {
  const group = el('span', { class: 'stars', role: 'group', 'aria-label': t('ticket_priority') });
  for (let i = 1; i <= 3; i++) {
    const on = i <= value;
    // Clicking the highest lit star again turns it off, as in Odoo.
    const next = value === i ? i - 1 : i;
    group.append(el('button', {
      type: 'button', class: on ? 'star on' : 'star', 'aria-pressed': on ? 'true' : 'false',
      'data-stars': i, title: t('set_priority', { name: priorityName(next) }),
      'aria-label': t('set_priority', { name: priorityName(next) }),
      onclick: (event) => { event.preventDefault(); event.stopPropagation(); set(next); },
    }, on ? '★' : '☆'));
  }
  return group;
}

/** The teams the user works in: all of them for an admin. */
export async function myTeams() {
  return api('GET', '/teams');
}

/** Fills a team picker, keeping the choice in the address and the tab. */
export async function teamPicker(select, onChange) {
  const teams = await myTeams();
  const wanted = new URLSearchParams(location.search).get('team') || sessionStorage.getItem('sb-team');
  select.textContent = '';
  for (const team of teams) select.append(el('option', { value: team.slug }, team.name));
  if (teams.some((team) => team.slug === wanted)) select.value = wanted;
  const changed = () => {
    sessionStorage.setItem('sb-team', select.value);
    const url = new URL(location.href);
    url.searchParams.set('team', select.value);
    history.replaceState(null, '', url);
    onChange(select.value);
  };
  select.addEventListener('change', changed);
  if (teams.length) changed();
  else toast(t('no_teams'), true);
  return teams;
}

/** Shows the errors of a 422 beside the fields they name. `fields` maps
 * an API field name to the id of its error slot; anything else goes to
 * `fallback`. */
export function showErrors(error, fields, fallback) {
  for (const id of Object.values(fields)) {
    const slot = document.getElementById(id);
    if (slot) slot.textContent = '';
  }
  document.querySelectorAll('[aria-invalid="true"]').forEach((input) => input.removeAttribute('aria-invalid'));
  const field = error.body && error.body.field;
  const slot = document.getElementById(fields[field] || fallback);
  if (slot) {
    slot.textContent = error.message;
    const input = slot.previousElementSibling;
    if (input && input.matches('input, select, textarea')) input.setAttribute('aria-invalid', 'true');
  } else {
    toast(error.message, true);
  }
}

/** Copies the text of element `id` to the clipboard. */
async function copyFrom(id, button) {
  const source = document.getElementById(id);
  if (!source) return;
  try {
    await navigator.clipboard.writeText(source.value !== undefined ? source.value : source.textContent);
    toast(t('copied'));
  } catch (e) {
    // Without clipboard access (plain HTTP), select the text instead.
    if (source.select) source.select();
    toast(t('copy_by_hand'), true);
  }
  button.focus();
}

document.addEventListener('click', (event) => {
  const button = event.target.closest('button.copy');
  if (button) copyFrom(button.dataset.copy, button);
});

document.getElementById('lang-picker')?.addEventListener('change', (event) => {
  document.cookie = `sb_lang=${encodeURIComponent(event.target.value)}; Path=/; SameSite=Strict; Max-Age=31536000`;
  location.reload();
});

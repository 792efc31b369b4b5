// A settings form generated from a plugin's JSON Schema, so that a new
// plugin needs no console code. Each top-level property gets an input by
// its type; objects and arrays are edited as JSON. Errors, the schema's
// and the plugin's own, appear beside the field they name.
import { el, t } from './common.js';

function inputFor(name, prop, value, secretSet, prefix) {
  const id = `${prefix}setting-${name}`;
  const common = { id, name, 'data-setting': name, 'aria-describedby': `${prefix}err-setting-${name}` };
  if (prop.type === 'boolean') {
    const input = el('input', { ...common, type: 'checkbox' });
    input.checked = value === undefined ? prop.default === true : value === true;
    return input;
  }
  if (Array.isArray(prop.enum)) {
    const select = el('select', common, el('option', { value: '' }, t('settings_default')));
    for (const option of prop.enum) select.append(el('option', { value: JSON.stringify(option) }, String(option)));
    if (value !== undefined) select.value = JSON.stringify(value);
    return select;
  }
  if (prop.type === 'integer' || prop.type === 'number') {
    const input = el('input', { ...common, type: 'number', step: prop.type === 'integer' ? '1' : 'any', min: prop.minimum, max: prop.maximum });
    if (value !== undefined) input.value = String(value);
    return input;
  }
  if (prop.type === 'string') {
    if (prop.writeOnly) {
      return el('input', { ...common, type: 'password', autocomplete: 'new-password', placeholder: secretSet ? t('settings_secret_kept') : '' });
    }
    const long = prop['x-template'] || (prop.maxLength || 0) > 200 || /text|message|intro|welcome|body/.test(name);
    const input = long ? el('textarea', { ...common, rows: '3' }) : el('input', { ...common, type: 'text' });
    if (value !== undefined) input.value = String(value);
    return input;
  }
  const area = el('textarea', { ...common, rows: '5', class: 'json', spellcheck: 'false' });
  if (value !== undefined) area.value = JSON.stringify(value, null, 2);
  return area;
}

/** Fills `holder` with the inputs for `schema`, showing `settings`;
 * `prefix` keeps ids apart when a page has several such forms. */
export function buildSettingsForm(holder, schema, settings, secrets, prefix = '') {
  holder.querySelectorAll('.setting').forEach((node) => node.remove());
  const properties = (schema && schema.properties) || {};
  const names = Object.keys(properties);
  if (!names.length) holder.append(el('p', { class: 'setting hint' }, t('settings_none')));
  for (const name of names) {
    const prop = properties[name] || {};
    const input = inputFor(name, prop, settings ? settings[name] : undefined, secrets && secrets[name], prefix);
    const label = el('label', { for: input.id }, prop.title || name.replace(/_/g, ' '));
    const kind = prop.type === 'object' || prop.type === 'array' || (!prop.type && !prop.enum) ? ` (${t('settings_json')})` : '';
    const row = el('div', { class: input.type === 'checkbox' ? 'setting check' : 'setting' },
      input.type === 'checkbox' ? el('label', { for: input.id }, input, ' ', prop.title || name.replace(/_/g, ' ')) : [label, kind ? el('small', {}, kind) : null, input],
      prop.description ? el('small', { class: 'hint' }, prop.description) : null,
      el('p', { class: 'field-error', id: `${prefix}err-setting-${name}`, 'data-error-for': name }));
    holder.append(row);
  }
}

/** The settings the form holds, or throws naming a field whose JSON does
 * not parse. Empty inputs are left out, so the plugin's defaults apply. */
export function readSettingsForm(holder, schema) {
  const settings = {};
  for (const input of holder.querySelectorAll('[data-setting]')) {
    const name = input.dataset.setting;
    const prop = (schema.properties || {})[name] || {};
    if (input.type === 'checkbox') { settings[name] = input.checked; continue; }
    const raw = input.value;
    if (raw.trim() === '') continue;
    if (input.tagName === 'SELECT') { settings[name] = JSON.parse(raw); continue; }
    if (prop.type === 'integer' || prop.type === 'number') { settings[name] = Number(raw); continue; }
    if (prop.type === 'string') { settings[name] = raw; continue; }
    try {
      settings[name] = JSON.parse(raw);
    } catch (e) {
      const error = new Error(t('settings_bad_json', { field: name, reason: e.message }));
      error.field = name;
      throw error;
    }
  }
  return settings;
}

/** Puts each problem of a settings error beside its field: the schema's
 * ("settings/rate_limit/submissions: …") and the plugin's
 * ("settings.fields[0].name: …") name the field first. Returns the
 * problems no field took. */
export function showSettingsErrors(holder, detail, field) {
  holder.querySelectorAll('.field-error').forEach((slot) => { slot.textContent = ''; });
  holder.querySelectorAll('[aria-invalid]').forEach((input) => input.removeAttribute('aria-invalid'));
  const rest = [];
  const problems = field ? [`settings.${field}: ${detail}`] : detail.split('; ');
  for (const problem of problems) {
    const match = /^settings[./]([A-Za-z0-9_-]+)/.exec(problem);
    const slot = match && holder.querySelector(`[data-error-for="${CSS.escape(match[1])}"]`);
    if (slot) {
      slot.textContent = slot.textContent ? `${slot.textContent}; ${problem}` : problem;
      holder.querySelector(`[data-setting="${CSS.escape(match[1])}"]`)?.setAttribute('aria-invalid', 'true');
    } else {
      rest.push(problem);
    }
  }
  return rest;
}

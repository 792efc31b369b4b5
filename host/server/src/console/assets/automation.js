// A team's automation on its admin page: the robots of each stage (in
// order, each after the previous or not, with a delay, and settings from
// the robot's schema over the team's), their dry run for a ticket, and the
// triggers that move tickets between stages.
import { api, el, t, toast } from './common.js';
import { buildSettingsForm, readSettingsForm, showSettingsErrors } from './settings-form.js';

const $ = (id) => document.getElementById(id);
const slug = document.body.dataset.team;
const team = (path) => `/teams/${encodeURIComponent(slug)}${path}`;
let stages = [];
let robotPlugins = [];
let rows = [];
let serial = 0;

const EVENTS = ['customer_replied', 'channel_message', 'form_submitted', 'priority_became', 'sla_breached', 'conversation_ended'];

/** A robot's schema without its secrets: those are set on the team's
 * plugin, not per stage. */
function stageSchema(plugin) {
  const schema = plugin.settings_schema || { properties: {} };
  const properties = {};
  for (const [name, prop] of Object.entries(schema.properties || {})) if (!prop.writeOnly) properties[name] = prop;
  return { ...schema, properties };
}

function robotRow(robot) {
  const plugin = robotPlugins.find((p) => p.id === robot.plugin) || { id: robot.plugin, name: robot.plugin };
  const prefix = `r${serial++}-`;
  const after = el('input', { type: 'checkbox', id: `${prefix}after` });
  after.checked = !!robot.after_previous;
  const delay = el('input', { type: 'number', min: '0', max: '43200', step: '1', id: `${prefix}delay`, value: Math.round((robot.delay_seconds || 0) / 60) });
  const settings = el('fieldset', { class: 'robot-settings' }, el('legend', {}, t('plugins_settings')));
  buildSettingsForm(settings, stageSchema(plugin), robot.settings || {}, undefined, prefix);
  const node = el('li', { class: 'card robot', 'data-plugin': plugin.id },
    el('h3', {}, plugin.name, ' ', el('small', {}, plugin.id)),
    el('div', { class: 'row' },
      el('label', { class: 'check', for: `${prefix}after` }, after, ' ', t('robots_after_previous')),
      el('label', { for: `${prefix}delay` }, t('robots_delay_minutes')), delay,
      el('button', { type: 'button', 'aria-label': t('robots_up', { name: plugin.name }), onclick: () => moveRow(node, -1) }, '↑'),
      el('button', { type: 'button', 'aria-label': t('robots_down', { name: plugin.name }), onclick: () => moveRow(node, 1) }, '↓'),
      el('button', { type: 'button', class: 'danger', onclick: () => { rows = rows.filter((r) => r.node !== node); node.remove(); } }, t('admin_remove'))),
    settings,
    el('p', { class: 'field-error', 'data-row-error': 'yes' }));
  const row = { node, plugin, after, delay, settings };
  rows.push(row);
  return node;
}

function moveRow(node, by) {
  const at = rows.findIndex((r) => r.node === node);
  const to = at + by;
  if (to < 0 || to >= rows.length) return;
  [rows[at], rows[to]] = [rows[to], rows[at]];
  const list = $('robots');
  list.textContent = '';
  for (const row of rows) list.append(row.node);
  node.querySelector('button')?.focus();
}

async function loadRobots() {
  const stage = $('robots-stage').value;
  const list = $('robots');
  list.textContent = '';
  rows = [];
  $('err-robots').textContent = '';
  $('dry-run-plan').textContent = '';
  const current = await api('GET', team(`/stages/${stage}/robots`));
  for (const robot of current.robots) list.append(robotRow(robot));
  if (!current.robots.length) list.append(el('li', { class: 'hint', 'data-empty': 'yes' }, t('robots_none')));
}

async function saveRobots() {
  const stage = $('robots-stage').value;
  let robots;
  try {
    robots = rows.map((row) => ({
      plugin: row.plugin.id,
      after_previous: row.after.checked,
      delay_seconds: Math.max(0, Math.round(Number(row.delay.value || 0) * 60)),
      settings: readSettingsForm(row.settings, stageSchema(row.plugin)),
    }));
  } catch (error) {
    $('err-robots').textContent = error.message;
    return;
  }
  try {
    await api('PUT', team(`/stages/${stage}/robots`), { robots });
    toast(t('admin_saved'));
    await loadRobots();
  } catch (error) {
    // "robots[1].settings/text: …" belongs to the second robot's field.
    const detail = (error.body && error.body.detail) || error.message;
    const match = /^robots\[(\d+)\]\.settings(.*)$/.exec((error.body && error.body.field) || '') || /^robots\[(\d+)\]\.settings(.*)$/s.exec(detail);
    const row = match && rows[Number(match[1])];
    if (row) {
      const problem = detail.replace(/^robots\[\d+\]\./, '');
      const rest = showSettingsErrors(row.settings, problem, null);
      row.node.querySelector('[data-row-error]').textContent = rest.join('; ');
      $('err-robots').textContent = t('robots_fix_row', { n: Number(match[1]) + 1 });
    } else {
      $('err-robots').textContent = detail;
    }
  }
}

function planNode(robot) {
  const start = robot.starts.after === null || robot.starts.after === undefined
    ? t('robots_starts_at_once', { minutes: Math.round(robot.starts.wait_seconds / 60) })
    : t('robots_starts_after', { n: robot.starts.after + 1, minutes: Math.round(robot.starts.wait_seconds / 60) });
  let what;
  if (robot.error) what = el('p', { class: 'error' }, robot.error);
  else if (robot.plan && robot.plan.does === 'skip') what = el('p', {}, t('robots_would_skip', { reason: robot.plan.reason }));
  else if (robot.plan) what = [el('p', {}, robot.plan.summary), el('pre', { class: 'content' }, robot.plan.content)];
  return el('li', { class: 'card' }, el('strong', {}, `${robot.position + 1}. ${robot.plugin}`), ' ', el('small', {}, start), what);
}

// ---- Triggers ----

let triggerRows = [];

function stageOptions(select, chosen) {
  for (const stage of stages) select.append(el('option', { value: stage.id }, stage.name));
  if (chosen !== undefined) select.value = String(chosen);
}

function triggerRow(trigger) {
  const prefix = `t${serial++}-`;
  const event = el('select', { id: `${prefix}event` });
  for (const name of EVENTS) event.append(el('option', { value: name }, t(`trigger_${name}`)));
  event.value = trigger.event || 'customer_replied';
  const channel = el('input', { id: `${prefix}channel`, value: trigger.channel || '', placeholder: 'web-form' });
  const priority = el('select', { id: `${prefix}priority` });
  for (const name of ['low', 'medium', 'high', 'urgent']) priority.append(el('option', { value: name }, t(`priority_${name}`)));
  if (trigger.priority) priority.value = trigger.priority;
  const to = el('select', { id: `${prefix}to` });
  stageOptions(to, trigger.to_stage && trigger.to_stage.id);
  const from = el('fieldset', { class: 'from' }, el('legend', {}, t('triggers_from')));
  const fromIds = (trigger.from_stages || []).map((s) => s.id);
  for (const stage of stages) {
    const box = el('input', { type: 'checkbox', value: stage.id });
    box.checked = fromIds.includes(stage.id);
    from.append(el('label', { class: 'check' }, box, ' ', stage.name));
  }
  const channelLabel = el('label', { for: channel.id }, t('board_channel'));
  const priorityLabel = el('label', { for: priority.id }, t('ticket_priority'));
  const shown = () => {
    channelLabel.hidden = channel.hidden = event.value !== 'channel_message';
    priorityLabel.hidden = priority.hidden = event.value !== 'priority_became';
  };
  event.addEventListener('change', shown);
  shown();
  const node = el('li', { class: 'card trigger' },
    el('div', { class: 'row' },
      el('label', { for: event.id }, t('triggers_when')), event, channelLabel, channel, priorityLabel, priority,
      el('label', { for: to.id }, t('triggers_move_to')), to,
      el('button', { type: 'button', class: 'danger', onclick: () => { triggerRows = triggerRows.filter((r) => r.node !== node); node.remove(); } }, t('admin_remove'))),
    from);
  triggerRows.push({ node, event, channel, priority, to, from });
  return node;
}

async function loadTriggers() {
  const current = await api('GET', team('/triggers'));
  const list = $('triggers');
  list.textContent = '';
  triggerRows = [];
  for (const trigger of current) list.append(triggerRow(trigger));
}

async function saveTriggers() {
  const triggers = triggerRows.map((row) => {
    const trigger = { event: row.event.value, to_stage: row.to.value, from_stages: [...row.from.querySelectorAll('input:checked')].map((b) => b.value) };
    if (row.event.value === 'channel_message') trigger.channel = row.channel.value.trim();
    if (row.event.value === 'priority_became') trigger.priority = row.priority.value;
    return trigger;
  });
  try {
    await api('PUT', team('/triggers'), { triggers });
    $('err-triggers').textContent = '';
    toast(t('admin_saved'));
    await loadTriggers();
  } catch (error) {
    $('err-triggers').textContent = error.message;
  }
}

// ---- Start ----

async function start() {
  const [stageList, plugins, installed] = await Promise.all([
    api('GET', team('/stages')), api('GET', '/plugins'), api('GET', team('/plugins')),
  ]);
  stages = stageList;
  const enabled = new Set(installed.filter((i) => i.enabled).map((i) => i.plugin));
  robotPlugins = plugins.filter((p) => p.kind === 'robot');
  const pick = $('robot-plugin');
  pick.textContent = '';
  for (const plugin of robotPlugins.filter((p) => enabled.has(p.id))) pick.append(el('option', { value: plugin.id }, plugin.name));
  if (!pick.options.length) pick.append(el('option', { value: '' }, t('robots_enable_first')));
  const select = $('robots-stage');
  stageOptions(select);
  select.addEventListener('change', loadRobots);
  await Promise.all([loadRobots(), loadTriggers()]);
  document.body.dataset.automationReady = 'true';
}

$('add-robot').addEventListener('click', () => {
  const plugin = robotPlugins.find((p) => p.id === $('robot-plugin').value);
  if (!plugin) return;
  $('robots').querySelector('[data-empty]')?.remove();
  $('robots').append(robotRow({ plugin: plugin.id, settings: {}, after_previous: rows.length > 0, delay_seconds: 0 }));
});
$('save-robots').addEventListener('click', saveRobots);
$('dry-run').addEventListener('submit', async (event) => {
  event.preventDefault();
  const plan = $('dry-run-plan');
  plan.textContent = '';
  try {
    const result = await api('POST', team(`/stages/${$('robots-stage').value}/robots/dry-run`), { ticket: Number($('dry-run-ticket').value) });
    $('err-dry-run').textContent = '';
    if (!result.robots.length) plan.append(el('li', {}, t('robots_none')));
    for (const robot of result.robots) plan.append(planNode(robot));
  } catch (error) {
    $('err-dry-run').textContent = error.message;
  }
});
$('add-trigger').addEventListener('click', () => $('triggers').append(triggerRow({})));
$('save-triggers').addEventListener('click', saveTriggers);
start().catch((error) => toast(error.message, true));

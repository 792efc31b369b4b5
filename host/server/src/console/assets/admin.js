// The admin pages: teams, one team's stages, SLA policies, members and
// embed snippets, users and their tokens, and plugins (install, grant,
// enable per team with generated settings forms, upgrade, disable).
import { api, el, t, toast, when, showErrors, priorityName } from './common.js';
import { buildSettingsForm, readSettingsForm, showSettingsErrors } from './settings-form.js';

const $ = (id) => document.getElementById(id);
const page = document.body.dataset.page;

async function users() { return api('GET', '/users'); }

function membersOf(slug, all) {
  return all.filter((user) => user.role === 'admin' || user.teams.includes(slug));
}

// ---- Teams ----

async function teamsPage() {
  const [teams, everyone] = await Promise.all([api('GET', '/teams'), users()]);
  const body = $('teams');
  body.textContent = '';
  for (const team of teams) {
    const members = membersOf(team.slug, everyone).filter((u) => u.role === 'agent').map((u) => u.name);
    body.append(el('tr', {},
      el('td', {}, el('a', { href: `/console/admin/teams/${encodeURIComponent(team.slug)}` }, team.name)),
      el('td', {}, el('code', {}, team.slug)),
      el('td', {}, team.alias),
      el('td', {}, members.join(', ') || '—')));
  }
}

$('new-team')?.addEventListener('submit', async (event) => {
  event.preventDefault();
  const body = { name: $('team-name').value };
  if ($('team-alias').value.trim()) body.alias = $('team-alias').value.trim();
  try {
    const team = await api('POST', '/teams', body);
    location.href = `/console/admin/teams/${encodeURIComponent(team.slug)}`;
  } catch (error) {
    showErrors(error, { name: 'err-name', alias: 'err-alias' }, 'err-name');
  }
});

// ---- One team ----

const slug = document.body.dataset.team;
let stages = [];

async function teamPage() {
  const [team, everyone] = await Promise.all([api('GET', `/teams/${encodeURIComponent(slug)}`), users()]);
  $('team-title').textContent = team.name;
  $('edit-name').value = team.name;
  $('edit-alias').value = team.alias;
  const members = $('members');
  members.textContent = '';
  for (const user of membersOf(slug, everyone)) members.append(el('li', {}, user.name, ' ', el('small', {}, t(`role_${user.role}`))));
  await Promise.all([loadStages(), loadPolicies(), loadInstalled()]);
}

async function loadStages() {
  stages = await api('GET', `/teams/${encodeURIComponent(slug)}/stages`);
  const list = $('stages');
  list.textContent = '';
  stages.forEach((stage, index) => {
    const closing = el('input', { type: 'checkbox', 'aria-label': t('admin_stage_closing_of', { name: stage.name }) });
    closing.checked = stage.closing;
    closing.addEventListener('change', () => stageCall('PATCH', `/stages/${stage.id}`, { closing: closing.checked }));
    list.append(el('li', { 'data-stage': stage.id },
      el('span', { class: 'name' }, stage.name), ' ',
      el('small', {}, t('admin_stage_tickets', { n: stage.tickets })), ' ',
      el('label', { class: 'check' }, closing, ' ', t('admin_stage_closing')),
      el('span', { class: 'row' },
        el('button', { type: 'button', disabled: index === 0, 'aria-label': t('admin_stage_up', { name: stage.name }), onclick: () => move(index, -1) }, '↑'),
        el('button', { type: 'button', disabled: index === stages.length - 1, 'aria-label': t('admin_stage_down', { name: stage.name }), onclick: () => move(index, 1) }, '↓'),
        el('button', { type: 'button', class: 'danger', 'aria-label': t('admin_stage_remove', { name: stage.name }), onclick: () => stageCall('DELETE', `/stages/${stage.id}`) }, '✕'))));
  });
  const target = $('policy-stage');
  target.textContent = '';
  for (const stage of stages) target.append(el('option', { value: stage.id }, stage.name));
  const closing = stages.find((stage) => stage.closing);
  if (closing) target.value = String(closing.id);
}

async function stageCall(method, path, body) {
  try {
    await api(method, `/teams/${encodeURIComponent(slug)}${path}`, body);
    $('err-stage').textContent = '';
  } catch (error) {
    $('err-stage').textContent = error.message;
  }
  await loadStages();
}

function move(index, by) {
  const order = stages.map((stage) => stage.id);
  [order[index], order[index + by]] = [order[index + by], order[index]];
  stageCall('PUT', '/stages/order', { order });
}

async function loadPolicies() {
  const policies = await api('GET', `/teams/${encodeURIComponent(slug)}/sla-policies`);
  const list = $('policies');
  list.textContent = '';
  if (!policies.length) list.append(el('li', {}, t('admin_sla_none')));
  for (const policy of policies) {
    const stage = stages.find((s) => s.id === policy.target_stage);
    list.append(el('li', {},
      t('admin_sla_line', { name: policy.name, priority: priorityName(policy.min_priority), stage: stage ? stage.name : policy.target_stage, hours: policy.hours }), ' ',
      el('button', { type: 'button', class: 'danger', onclick: async () => {
        try { await api('DELETE', `/teams/${encodeURIComponent(slug)}/sla-policies/${policy.id}`); } catch (error) { toast(error.message, true); }
        loadPolicies();
      } }, t('admin_remove'))));
  }
}

async function loadInstalled() {
  const installed = await api('GET', `/teams/${encodeURIComponent(slug)}/plugins`);
  const list = $('installed');
  const embeds = $('embeds');
  list.textContent = '';
  embeds.textContent = '';
  if (!installed.length) list.append(el('li', {}, t('admin_channels_none')));
  for (const inst of installed) {
    list.append(el('li', {}, el('strong', {}, inst.plugin), ' ', inst.enabled ? t('admin_enabled') : t('admin_disabled'), ' ',
      el('a', { href: `/console/admin/plugins?team=${encodeURIComponent(slug)}#${encodeURIComponent(inst.plugin)}` }, t('admin_settings_link'))));
    const snippets = [];
    if (inst.public_path) snippets.push([t('admin_embed_link', { plugin: inst.plugin }), new URL(inst.public_path, location.origin).href]);
    if (inst.chat) {
      snippets.push([t('admin_embed_chat_snippet'), inst.chat.snippet], [t('admin_embed_chat_link'), inst.chat.link]);
      for (const channel of inst.chat.channels || []) snippets.push([t('admin_embed_channel', { name: channel.name }), channel.snippet]);
    }
    snippets.forEach(([label, text], index) => {
      const id = `embed-${inst.plugin}-${index}`;
      embeds.append(el('div', { class: 'embed' },
        el('label', { for: id }, label),
        el('textarea', { id, readonly: true, rows: text.length > 90 ? '3' : '1', class: 'json' }, text),
        el('button', { type: 'button', class: 'copy', 'data-copy': id }, t('copy'))));
    });
  }
}

$('edit-team')?.addEventListener('submit', async (event) => {
  event.preventDefault();
  try {
    await api('PATCH', `/teams/${encodeURIComponent(slug)}`, { name: $('edit-name').value, alias: $('edit-alias').value.trim() });
    toast(t('admin_saved'));
    teamPage();
  } catch (error) {
    showErrors(error, { name: 'err-name', alias: 'err-alias' }, 'err-name');
  }
});

$('new-stage')?.addEventListener('submit', async (event) => {
  event.preventDefault();
  await stageCall('POST', '/stages', { name: $('stage-name').value, closing: $('stage-closing').checked });
  if (!$('err-stage').textContent) { $('stage-name').value = ''; $('stage-closing').checked = false; }
});

$('new-policy')?.addEventListener('submit', async (event) => {
  event.preventDefault();
  const body = {
    name: $('policy-name').value, min_priority: $('policy-priority').value,
    target_stage: Number($('policy-stage').value), hours: Number($('policy-hours').value),
  };
  try {
    await api('POST', `/teams/${encodeURIComponent(slug)}/sla-policies`, body);
    $('policy-name').value = '';
    showErrors({ body: {}, message: '' }, { name: 'err-policy-name', hours: 'err-policy-hours' }, 'err-policy-name');
    loadPolicies();
  } catch (error) {
    showErrors(error, { name: 'err-policy-name', hours: 'err-policy-hours' }, 'err-policy-name');
  }
});

// ---- Users ----

async function usersPage() {
  const [everyone, teams] = await Promise.all([users(), api('GET', '/teams')]);
  const body = $('users');
  body.textContent = '';
  for (const user of everyone) {
    const teamsCell = el('td', {}, user.role === 'admin' ? t('admin_every_team') : user.teams.join(', ') || '—');
    const edit = user.role === 'admin' ? null : el('button', { type: 'button', onclick: () => editTeams(user, teams, teamsCell) }, t('admin_change_teams'));
    const rotate = el('button', { type: 'button', class: 'danger', onclick: () => newToken(user) }, t('admin_new_token'));
    body.append(el('tr', { 'data-user': user.id }, el('td', {}, user.name), el('td', {}, t(`role_${user.role}`)),
      teamsCell, el('td', {}, when(user.created_at)), el('td', { class: 'row' }, edit, rotate)));
  }
  const box = $('user-teams');
  box.querySelectorAll('label').forEach((label) => label.remove());
  for (const team of teams) {
    box.append(el('label', { class: 'check' }, el('input', { type: 'checkbox', value: team.slug }), ' ', team.name));
  }
}

/** Replaces a user's team list in place with checkboxes and a save button. */
function editTeams(user, teams, cell) {
  cell.textContent = '';
  const boxes = teams.map((team) => {
    const box = el('input', { type: 'checkbox', value: team.slug });
    box.checked = user.teams.includes(team.slug);
    return el('label', { class: 'check' }, box, ' ', team.name);
  });
  const error = el('p', { class: 'field-error' });
  cell.append(el('fieldset', {}, el('legend', {}, t('admin_user_teams_of', { name: user.name })), boxes),
    el('button', { type: 'button', class: 'primary', onclick: async () => {
      const chosen = [...cell.querySelectorAll('input:checked')].map((input) => input.value);
      try {
        await api('PATCH', `/users/${user.id}`, { teams: chosen });
        toast(t('admin_saved'));
        usersPage();
      } catch (e) {
        error.textContent = e.message;
      }
    } }, t('admin_save')), error);
  cell.querySelector('input')?.focus();
}

/** Gives a user a new token after asking; shows it once. */
async function newToken(user) {
  if (!confirm(t('admin_new_token_confirm', { name: user.name }))) return;
  try {
    const made = await api('POST', `/users/${user.id}/token`);
    $('token-value').textContent = made.token;
    $('new-token').hidden = false;
    $('new-token').scrollIntoView();
  } catch (error) {
    toast(error.message, true);
  }
}

$('new-user')?.addEventListener('submit', async (event) => {
  event.preventDefault();
  const teams = [...$('user-teams').querySelectorAll('input:checked')].map((input) => input.value);
  try {
    const created = await api('POST', '/users', { name: $('user-name').value, role: $('user-role').value, teams });
    $('token-value').textContent = created.token;
    $('new-token').hidden = false;
    $('user-name').value = '';
    showErrors({ body: {}, message: '' }, { name: 'err-name', teams: 'err-teams' }, 'err-name');
    usersPage();
  } catch (error) {
    showErrors(error, { name: 'err-name', teams: 'err-teams' }, 'err-name');
  }
});

// ---- Plugins ----

let plugins = [];
let editing = null;

async function pluginsPage() {
  plugins = await api('GET', '/plugins');
  const holder = $('plugins');
  holder.textContent = '';
  for (const plugin of plugins) {
    holder.append(el('article', { class: 'card plugin', id: plugin.id },
      el('h2', {}, plugin.name, ' ', el('small', {}, `${plugin.id} ${plugin.version}`)),
      el('p', { class: 'meta' }, t(`plugin_kind_${plugin.kind}`), ' · ', plugin.vendor, ' · ',
        plugin.signed_by ? t('plugins_signed_by', { key: plugin.signed_by }) : plugin.bundled ? t('plugins_bundled') : t('plugins_unsigned'),
        ' · ', t('plugins_enabled_in', { n: plugin.enabled_in })),
      el('p', {}, t('plugins_capabilities'), ' ', plugin.capabilities.length
        ? plugin.capabilities.map((c) => el('code', { class: 'capability' }, c)) : t('plugins_no_capabilities')),
      plugin.awaiting_grants.length ? el('p', { class: 'warning' }, t('plugins_awaiting', { teams: plugin.awaiting_grants.map((a) => a.team).join(', ') })) : null,
      el('button', { type: 'button', class: 'primary', 'data-configure': plugin.id, onclick: () => openEnable(plugin) }, t('plugins_configure'))));
  }
  // A link to one plugin's settings (from a team page) opens them once.
  const wanted = decodeURIComponent(location.hash.slice(1));
  const chosen = plugins.find((plugin) => plugin.id === wanted);
  if (chosen) {
    history.replaceState(null, '', location.pathname + location.search);
    openEnable(chosen);
  }
}

async function openEnable(plugin) {
  editing = plugin;
  $('enable-title').textContent = t('plugins_enable_title', { name: plugin.name });
  const teams = await api('GET', '/teams');
  const select = $('enable-team');
  select.textContent = '';
  for (const team of teams) select.append(el('option', { value: team.slug }, team.name));
  const wanted = new URLSearchParams(location.search).get('team');
  if (teams.some((team) => team.slug === wanted)) select.value = wanted;
  select.onchange = () => fillEnable();
  await fillEnable();
  const dialog = $('enable-dialog');
  if (!dialog.open) dialog.showModal();
}

async function fillEnable() {
  const plugin = editing;
  const team = $('enable-team').value;
  let current = null;
  try {
    current = await api('GET', `/teams/${encodeURIComponent(team)}/plugins/${encodeURIComponent(plugin.id)}`);
  } catch (error) {
    if (error.status !== 404) toast(error.message, true);
  }
  const grants = $('grants');
  grants.querySelectorAll('label, p').forEach((node) => node.remove());
  if (!plugin.capabilities.length) grants.append(el('p', { class: 'hint' }, t('plugins_no_capabilities')));
  for (const capability of plugin.capabilities) {
    const input = el('input', { type: 'checkbox', value: capability, 'data-capability': capability });
    input.checked = current ? current.grants.includes(capability) : true;
    grants.append(el('label', { class: 'check' }, input, ' ', el('code', {}, capability)));
  }
  buildSettingsForm($('settings'), plugin.settings_schema, current ? current.settings : undefined, current ? current.secrets : undefined);
  $('err-enable').textContent = '';
  $('enable-disable').hidden = !current || !current.enabled;
}

$('enable')?.addEventListener('submit', async (event) => {
  event.preventDefault();
  const plugin = editing;
  const team = $('enable-team').value;
  const granted = [...$('grants').querySelectorAll('input')];
  let settings;
  try {
    settings = readSettingsForm($('settings'), plugin.settings_schema || {});
  } catch (error) {
    showSettingsErrors($('settings'), error.message, error.field);
    return;
  }
  const body = {
    settings,
    grants: granted.filter((input) => input.checked).map((input) => input.value),
    declined: granted.filter((input) => !input.checked).map((input) => input.value),
  };
  try {
    await api('PUT', `/teams/${encodeURIComponent(team)}/plugins/${encodeURIComponent(plugin.id)}`, body);
    $('enable-dialog').close();
    toast(t('plugins_enabled', { name: plugin.name, team }));
    pluginsPage();
  } catch (error) {
    const detail = error.body && error.body.detail ? error.body.detail : error.message;
    const field = error.body && error.body.field;
    const rest = field === 'settings' || (field || '').startsWith('settings')
      ? showSettingsErrors($('settings'), detail, field && field !== 'settings' ? field.replace(/^settings\./, '') : null)
      : [detail];
    $('err-enable').textContent = rest.join('; ');
  }
});

$('enable-disable')?.addEventListener('click', async () => {
  const team = $('enable-team').value;
  try {
    await api('DELETE', `/teams/${encodeURIComponent(team)}/plugins/${encodeURIComponent(editing.id)}`);
    $('enable-dialog').close();
    toast(t('plugins_disabled', { name: editing.name, team }));
    pluginsPage();
  } catch (error) {
    $('err-enable').textContent = error.message;
  }
});
$('enable-cancel')?.addEventListener('click', () => $('enable-dialog').close());

$('install')?.addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData();
  const [bundle, manifest, component] = ['bundle', 'manifest', 'component'].map((id) => $(id).files[0]);
  if (bundle) form.append('bundle', bundle);
  if (manifest) form.append('manifest', manifest);
  if (component) form.append('component', component);
  try {
    const installed = await api('POST', '/plugins?wait=true', form);
    $('err-install').textContent = '';
    toast(t('plugins_installed', { name: installed.name || installed.id || '' }));
    event.target.reset();
    pluginsPage();
  } catch (error) {
    $('err-install').textContent = error.message;
  }
});

// ---- Start ----

const start = { 'admin-teams': teamsPage, 'admin-team': teamPage, 'admin-users': usersPage, 'admin-plugins': pluginsPage }[page];
if (start) start().then(() => { document.body.dataset.adminReady = 'true'; }).catch((error) => toast(error.message, true));

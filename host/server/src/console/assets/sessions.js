// The user's signed-in browsers, each of which can be ended.
import { api, el, t, toast, when } from './common.js';

async function load() {
  const sessions = await api('GET', '/sessions');
  const body = document.getElementById('sessions');
  body.textContent = '';
  for (const session of sessions) {
    body.append(el('tr', { 'data-session': session.id },
      el('td', {}, session.label || t('sessions_unknown_browser'), session.current ? el('strong', {}, ' ', t('sessions_this_one')) : null),
      el('td', {}, when(session.created_at)),
      el('td', {}, when(session.expires_at)),
      el('td', {}, el('button', {
        type: 'button', class: 'danger',
        onclick: async () => {
          try {
            await api('DELETE', `/sessions/${encodeURIComponent(session.id)}`);
            if (session.current) { location.href = '/'; return; }
            toast(t('sessions_ended'));
            load();
          } catch (error) { toast(error.message, true); }
        },
      }, session.current ? t('sign_out') : t('sessions_end'))),
    ));
  }
}

load().catch((error) => toast(error.message, true));

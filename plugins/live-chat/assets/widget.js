// Switchboard live chat widget. One script tag in a site's <head>:
//
//   <script src="https://help.example.com/c/<team>/live-chat/widget.js" async></script>
//
// It defines one global, `SwitchboardChat`, keeps its markup in a shadow
// root and its styles in a constructed stylesheet (no inline styles or
// scripts, so a page with a strict Content-Security-Policy runs it once
// the helpdesk's origin is allowed in script-src and connect-src), and
// talks to the helpdesk over one websocket. Every text is set with
// textContent: nothing a visitor or operator types becomes markup.
(function () {
  'use strict';
  if (window.SwitchboardChat) return;

  var script = document.currentScript || (function () {
    var all = document.getElementsByTagName('script');
    for (var i = all.length - 1; i >= 0; i--) {
      if (/\/widget\.js(\?|$)/.test(all[i].src)) return all[i];
    }
    return null;
  })();
  if (!script) return;
  var base = script.src.replace(/\/widget\.js(\?.*)?$/, '');
  var mode = script.getAttribute('data-mode') || 'widget';
  var wantedChannel = script.getAttribute('data-channel') || '';
  var lang = script.getAttribute('data-lang') || document.documentElement.lang || navigator.language || 'en';

  var CSS = [
    ':host { all: initial; }',
    '.sb { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328; }',
    '.sb-button { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000; border: 0; border-radius: 24px;',
    '  padding: 12px 18px; color: #fff; background: var(--sb-button, #875a7b); cursor: pointer;',
    '  box-shadow: 0 4px 12px rgba(0,0,0,.2); font: inherit; }',
    '.sb-bubble { position: fixed; right: 20px; bottom: 76px; z-index: 2147483000; max-width: 260px; padding: 10px 14px;',
    '  background: #fff; border-radius: 10px; box-shadow: 0 4px 12px rgba(0,0,0,.2); }',
    '.sb-window { position: fixed; right: 20px; bottom: 20px; z-index: 2147483001; width: 340px; height: 480px;',
    '  max-height: calc(100vh - 40px); display: flex; flex-direction: column; background: #fff; border-radius: 10px;',
    '  box-shadow: 0 8px 24px rgba(0,0,0,.25); overflow: hidden; }',
    '.sb-page .sb-window { position: static; width: 100%; height: 100vh; max-height: none; border-radius: 0; box-shadow: none; }',
    '.sb-header { display: flex; align-items: center; justify-content: space-between; padding: 12px 14px; color: #fff;',
    '  background: var(--sb-header, #875a7b); font-weight: 600; }',
    '.sb-close { border: 0; background: transparent; color: inherit; font: inherit; font-size: 18px; cursor: pointer; }',
    '.sb-log { flex: 1; overflow-y: auto; padding: 12px; display: flex; flex-direction: column; gap: 8px; background: #f6f7f9; }',
    '.sb-msg { max-width: 80%; padding: 8px 11px; border-radius: 10px; background: #fff; white-space: pre-wrap;',
    '  overflow-wrap: anywhere; align-self: flex-start; }',
    '.sb-msg.sb-visitor { align-self: flex-end; background: var(--sb-button, #875a7b); color: #fff; }',
    '.sb-msg.sb-system { align-self: center; background: transparent; color: #656d76; font-size: 12px; }',
    '.sb-name { display: block; font-size: 11px; color: #656d76; }',
    '.sb-answers { display: flex; flex-wrap: wrap; gap: 6px; padding: 0 12px 8px; background: #f6f7f9; }',
    '.sb-answer { border: 1px solid var(--sb-button, #875a7b); color: var(--sb-button, #875a7b); background: #fff;',
    '  border-radius: 14px; padding: 5px 10px; cursor: pointer; font: inherit; }',
    '.sb-form { display: flex; gap: 6px; padding: 8px; border-top: 1px solid #d0d7de; }',
    '.sb-input { flex: 1; resize: none; border: 1px solid #d0d7de; border-radius: 6px; padding: 7px; font: inherit; }',
    '.sb-send { border: 0; border-radius: 6px; padding: 0 12px; color: #fff; background: var(--sb-button, #875a7b);',
    '  cursor: pointer; font: inherit; }',
    '.sb-note { padding: 6px 12px; color: #656d76; font-size: 12px; text-align: center; }',
    '.sb-hidden { display: none !important; }'
  ].join('\n');

  var storeKey = 'switchboard-chat:' + base + ':' + wantedChannel;
  var rule = null;
  var texts = {};
  var ui = null;
  var socket = null;
  var saved = load();
  var ended = false;
  var retries = 0;

  function load() {
    try { return JSON.parse(window.localStorage.getItem(storeKey) || 'null'); } catch (e) { return null; }
  }
  function save() {
    try {
      if (saved) window.localStorage.setItem(storeKey, JSON.stringify(saved));
      else window.localStorage.removeItem(storeKey);
    } catch (e) { /* storage may be off; the chat still works until the page changes */ }
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = text;
    return node;
  }

  function build() {
    var host = el('div');
    host.id = 'switchboard-chat';
    host.style.setProperty('--sb-button', rule.options.button_color);
    host.style.setProperty('--sb-header', rule.options.header_color);
    var root = host.attachShadow({ mode: 'open' });
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    root.adoptedStyleSheets = [sheet];
    var wrap = el('div', mode === 'page' ? 'sb sb-page' : 'sb');
    var button = el('button', 'sb-button', texts.title);
    button.type = 'button';
    button.setAttribute('aria-label', texts.open);
    var bubble = el('div', 'sb-bubble sb-hidden', rule.options.notification_text);
    var win = el('div', 'sb-window sb-hidden');
    win.setAttribute('role', 'dialog');
    win.setAttribute('aria-label', texts.title);
    var header = el('div', 'sb-header');
    header.appendChild(el('span', null, texts.title));
    var close = el('button', 'sb-close', '×');
    close.type = 'button';
    close.setAttribute('aria-label', texts.close);
    header.appendChild(close);
    var log = el('div', 'sb-log');
    log.setAttribute('aria-live', 'polite');
    var answers = el('div', 'sb-answers');
    var note = el('div', 'sb-note sb-hidden');
    var form = el('form', 'sb-form');
    var input = el('textarea', 'sb-input');
    input.rows = 1;
    input.placeholder = rule.options.input_placeholder;
    input.setAttribute('aria-label', rule.options.input_placeholder);
    var send = el('button', 'sb-send', texts.send);
    send.type = 'submit';
    form.appendChild(input);
    form.appendChild(send);
    win.appendChild(header);
    win.appendChild(log);
    win.appendChild(answers);
    win.appendChild(note);
    win.appendChild(form);
    wrap.appendChild(bubble);
    wrap.appendChild(button);
    wrap.appendChild(win);
    root.appendChild(wrap);
    (document.body || document.documentElement).appendChild(host);

    button.addEventListener('click', open);
    bubble.addEventListener('click', open);
    close.addEventListener('click', hide);
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      submit(input.value);
    });
    input.addEventListener('keydown', function (event) {
      if (event.key === 'Enter' && !event.shiftKey && input.getAttribute('data-lines') !== 'yes') {
        event.preventDefault();
        submit(input.value);
      }
    });
    ui = { host: host, root: root, button: button, bubble: bubble, win: win, log: log, answers: answers,
           note: note, form: form, input: input };
    if (rule.options.welcome_message) {
      var welcome = el('div', 'sb-msg sb-operator');
      welcome.appendChild(el('span', null, rule.options.welcome_message));
      log.appendChild(welcome);
    }
  }

  function open() {
    ui.button.classList.add('sb-hidden');
    ui.bubble.classList.add('sb-hidden');
    ui.win.classList.remove('sb-hidden');
    connect();
    ui.input.focus();
  }

  function hide() {
    ui.win.classList.add('sb-hidden');
    if (mode !== 'page') ui.button.classList.remove('sb-hidden');
  }

  function status(text) {
    ui.note.textContent = text || '';
    ui.note.classList.toggle('sb-hidden', !text);
  }

  function connect() {
    if (socket || ended) return;
    var url = base.replace(/^http/, 'ws') + '/ws';
    status(texts.connecting);
    socket = new WebSocket(url);
    socket.addEventListener('open', function () {
      retries = 0;
      status('');
      if (saved && saved.token) {
        socket.send(JSON.stringify({ type: 'resume', token: saved.token, after: saved.seq || 0 }));
      } else {
        socket.send(JSON.stringify({ type: 'start', channel: rule.channel, page_url: location.href, language: lang }));
      }
    });
    socket.addEventListener('message', function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      receive(frame);
    });
    socket.addEventListener('close', function (event) {
      socket = null;
      if (ended) return;
      if (event.code === 4404) {
        // The conversation is gone (or the token is not ours): start over.
        saved = null;
        save();
      }
      retries += 1;
      status(texts.connecting);
      window.setTimeout(connect, Math.min(30000, 500 * Math.pow(2, retries)));
    });
  }

  function receive(frame) {
    if (frame.type === 'welcome') {
      saved = { token: frame.token, seq: 0, conversation: frame.conversation };
      save();
    } else if (frame.type === 'message') {
      if (saved && frame.seq <= (saved.seq || 0)) return;
      render(frame);
      if (saved) {
        saved.seq = frame.seq;
        save();
      }
    } else if (frame.type === 'state') {
      SwitchboardChat.state = frame.state;
      if (frame.state === 'ended') finish();
    } else if (frame.type === 'error') {
      status(frame.detail || frame.error);
    }
  }

  function render(message) {
    var who = message.speaker && message.speaker.type;
    var node = el('div', 'sb-msg sb-' + who);
    if (who === 'operator' && message.speaker.name) node.appendChild(el('span', 'sb-name', message.speaker.name));
    node.appendChild(el('span', null, message.body));
    node.setAttribute('data-seq', String(message.seq));
    ui.log.appendChild(node);
    ui.log.scrollTop = ui.log.scrollHeight;
    if (who !== 'visitor' && who !== 'system') expect(message.expect || { type: 'text' });
  }

  function expect(what) {
    ui.answers.textContent = '';
    var lines = what.type === 'lines';
    ui.input.setAttribute('data-lines', lines ? 'yes' : 'no');
    ui.input.rows = lines ? 3 : 1;
    ui.input.setAttribute('inputmode', what.type === 'email' ? 'email' : what.type === 'phone' ? 'tel' : 'text');
    (what.answers || []).forEach(function (answer) {
      var choice = el('button', 'sb-answer', answer);
      choice.type = 'button';
      choice.addEventListener('click', function () { submit(answer); });
      ui.answers.appendChild(choice);
    });
  }

  function submit(text) {
    text = (text || '').trim();
    if (!text || !socket || socket.readyState !== 1) return;
    socket.send(JSON.stringify({ type: 'say', body: text }));
    ui.input.value = '';
    ui.answers.textContent = '';
  }

  function finish() {
    ended = true;
    saved = null;
    save();
    ui.form.classList.add('sb-hidden');
    ui.answers.textContent = '';
    status(texts.ended);
    var again = el('button', 'sb-answer', texts.restart);
    again.type = 'button';
    again.addEventListener('click', function () {
      ended = false;
      ui.log.textContent = '';
      ui.form.classList.remove('sb-hidden');
      status('');
      if (socket) socket.close();
      socket = null;
      connect();
    });
    ui.answers.appendChild(again);
    if (socket) socket.close(1000);
  }

  function start(found) {
    rule = found;
    texts = found.texts || {};
    SwitchboardChat.rule = found;
    if (found.display === 'hide' && mode !== 'page') return;
    build();
    if (mode === 'page') {
      open();
    } else if (saved && saved.token) {
      // A conversation was going on when the visitor changed pages.
      open();
    } else if (found.display === 'show_with_notification') {
      ui.bubble.classList.remove('sb-hidden');
    } else if (found.display === 'open_automatically') {
      window.setTimeout(function () { if (ui.win.classList.contains('sb-hidden')) open(); }, (found.open_after || 0) * 1000);
    }
  }

  var SwitchboardChat = window.SwitchboardChat = {
    rule: null,
    state: null,
    open: function () { if (ui) open(); },
    close: function () { if (ui) hide(); }
  };

  var query = '?channel=' + encodeURIComponent(wantedChannel) + '&url=' + encodeURIComponent(location.href) +
    '&lang=' + encodeURIComponent(lang);
  fetch(base + '/rule' + query, { mode: 'cors', credentials: 'omit' })
    .then(function (response) { return response.ok ? response.json() : null; })
    .then(function (found) { if (found) start(found); })
    .catch(function () { /* the helpdesk is unreachable: show nothing */ });
})();

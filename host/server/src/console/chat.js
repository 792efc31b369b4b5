// The operator page: one websocket to /api/operator/ws. Every text goes
// in with textContent, never as markup.
(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };
  var socket = null;
  var current = null;
  var refs = 0;
  var conversations = {};

  function status(text) { $('status').textContent = text; }

  function send(frame) {
    refs += 1;
    frame.ref = 'c' + refs;
    socket.send(JSON.stringify(frame));
  }

  function label(c) {
    var where = c.page_url || c.channel;
    return '#' + c.id + ' · ' + c.channel + (c.country ? ' · ' + c.country : '') + ' · ' + where;
  }

  function showLists() {
    ['waiting', 'active'].forEach(function (name) { $(name).textContent = ''; });
    Object.keys(conversations).forEach(function (id) {
      var c = conversations[id];
      var list = c.state === 'waiting' ? 'waiting' : c.state === 'with_operator' ? 'active' : null;
      if (!list) return;
      var item = document.createElement('li');
      var open = document.createElement('button');
      open.type = 'button';
      open.textContent = label(c);
      open.setAttribute('data-conversation', String(c.id));
      open.addEventListener('click', function () { openPane(c, list === 'waiting'); });
      item.appendChild(open);
      $(list).appendChild(item);
    });
  }

  function openPane(c, join) {
    current = c.id;
    $('pane').hidden = false;
    $('pane-title').textContent = label(c);
    $('log').textContent = '';
    send(join ? { type: 'join', conversation: c.id } : { type: 'follow', conversation: c.id, after: 0 });
    $('body').focus();
  }

  function showMessage(m) {
    if (m.conversation !== current) return;
    var item = document.createElement('li');
    item.className = m.speaker.type;
    item.setAttribute('data-seq', String(m.seq));
    var who = document.createElement('span');
    who.className = 'who';
    who.textContent = m.speaker.type === 'operator' ? m.speaker.name : m.speaker.type;
    var body = document.createElement('span');
    body.textContent = m.body;
    item.appendChild(who);
    item.appendChild(body);
    $('log').appendChild(item);
    $('log').scrollTop = $('log').scrollHeight;
  }

  function receive(frame) {
    if (frame.type === 'conversations') {
      conversations = {};
      frame.waiting.concat(frame.active, frame.bot).forEach(function (c) { conversations[c.id] = c; });
      showLists();
    } else if (frame.type === 'conversation') {
      conversations[frame.conversation.id] = frame.conversation;
      showLists();
    } else if (frame.type === 'message') {
      showMessage(frame);
    } else if (frame.type === 'error') {
      status(frame.detail);
    }
  }

  function connect(token, team, channel) {
    var url = location.origin.replace(/^http/, 'ws') + '/api/operator/ws';
    socket = new WebSocket(url, ['switchboard.operator', 'bearer.' + token]);
    socket.addEventListener('open', function () {
      status('Online');
      if (channel) send({ type: 'online', team: team, channel: channel });
      send({ type: 'watch', team: team });
    });
    socket.addEventListener('message', function (event) { receive(JSON.parse(event.data)); });
    socket.addEventListener('close', function (event) {
      status('Disconnected' + (event.reason ? ': ' + event.reason : ''));
      socket = null;
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    $('token').value = sessionStorage.getItem('switchboard-token') || '';
    $('signin').addEventListener('submit', function (event) {
      event.preventDefault();
      sessionStorage.setItem('switchboard-token', $('token').value);
      if (socket) socket.close();
      connect($('token').value.trim(), $('team').value.trim(), $('channel').value.trim());
    });
    $('reply').addEventListener('submit', function (event) {
      event.preventDefault();
      var body = $('body').value.trim();
      if (!body || !socket || current === null) return;
      send({ type: 'say', conversation: current, body: body });
      $('body').value = '';
    });
    $('leave').addEventListener('click', function () { if (current !== null) send({ type: 'leave', conversation: current }); });
    $('end').addEventListener('click', function () { if (current !== null) send({ type: 'end', conversation: current }); });
    // Stay online: a heartbeat well within the 30 minutes.
    window.setInterval(function () {
      var channel = $('channel').value.trim();
      if (socket && channel) send({ type: 'online', team: $('team').value.trim(), channel: channel });
    }, 5 * 60 * 1000);
  });
})();

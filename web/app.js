// chatd's web client: plain ES modules, no build step, only the public API (REST + /ws, rich
// dialect). Everything a user wrote is put on the page as text (textContent), never as HTML.

const T = {
  en: {
    welcome: 'Sign in to chatd', username: 'Username', password: 'Password', login: 'Log in',
    register: 'Register', logout: 'Log out', conversations: 'Conversations', friends: 'Friends',
    groups: 'Groups', applications: 'Friend requests', findPeople: 'Find people', search: 'Search',
    searchHint: 'username or nickname', add: 'Add', accept: 'Accept', createGroup: 'New group with the ticked friends',
    older: 'Load older messages', send: 'Send', typeHere: 'Type a message', revoke: 'Revoke',
    revoked: 'This message was revoked', members: 'Members', requested: 'Request sent',
    noneTicked: 'Tick at least one friend first', you: 'You', offline: 'Connection lost; reconnecting…',
    notice: 'Notice',
  },
  zh: {
    welcome: '登录 chatd', username: '用户名', password: '密码', login: '登录', register: '注册',
    logout: '退出', conversations: '会话', friends: '好友', groups: '群聊', applications: '好友申请',
    findPeople: '查找用户', search: '搜索', searchHint: '用户名或昵称', add: '加好友', accept: '同意',
    createGroup: '用勾选的好友建群', older: '加载更早的消息', send: '发送', typeHere: '输入消息',
    revoke: '撤回', revoked: '此消息已撤回', members: '成员', requested: '已发送申请',
    noneTicked: '请先勾选好友', you: '我', offline: '连接已断开，正在重连…', notice: '通知',
  },
};

const $ = (id) => document.getElementById(id);
let lang = localStorage.getItem('lang') || 'en';
let token = localStorage.getItem('token');
let me = JSON.parse(localStorage.getItem('me') || 'null');
let current = null; // {chatType, id, name}
let olderThan = null; // next_before_seq of the open conversation
const shown = new Set(); // message ids on the page
let ws = null;

const t = (key) => (T[lang] && T[lang][key]) || T.en[key] || key;

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  Object.assign(e, props);
  for (const c of children) e.append(c);
  return e;
}

function say(text) {
  $('status').textContent = text || '';
}

async function api(method, path, params) {
  const opts = { method, headers: { 'Accept-Language': lang } };
  if (token) opts.headers.token = token;
  let url = path;
  if (params && method === 'GET') url += '?' + new URLSearchParams(params);
  else if (params) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(params);
  }
  const r = await fetch(url, opts);
  const body = await r.json().catch(() => null);
  if (r.status === 401 && token) {
    signOut();
  }
  if (!r.ok || !body || body.msg !== 'ok') throw new Error((body && body.data) || r.statusText);
  return body.data;
}

function translate() {
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  for (const e of document.querySelectorAll('[data-t]')) e.textContent = t(e.dataset.t);
  for (const e of document.querySelectorAll('[data-tp]')) e.placeholder = t(e.dataset.tp);
  $('lang').value = lang;
}

// --- Signing in ---

async function signIn(path) {
  try {
    const user = await api('POST', path, { username: $('username').value, password: $('password').value });
    token = user.token;
    me = { id: user.id, username: user.username, nickname: user.nickname };
    localStorage.setItem('token', token);
    localStorage.setItem('me', JSON.stringify(me));
    await start();
  } catch (e) {
    say(e.message);
  }
}

function signOut() {
  token = null;
  me = null;
  localStorage.removeItem('token');
  localStorage.removeItem('me');
  if (ws) ws.close();
  ws = null;
  $('main').hidden = true;
  $('auth').hidden = false;
  $('logout').hidden = true;
  $('me').textContent = '';
}

async function start() {
  say('');
  $('auth').hidden = true;
  $('main').hidden = false;
  $('logout').hidden = false;
  $('me').textContent = me.nickname || me.username;
  connect();
  await Promise.all([loadFriends(), loadGroups(), loadApplications(), loadConversations()]);
}

// --- Lists ---

function openable(li, chatType, id, name) {
  li.classList.add('open');
  li.dataset.chatType = chatType;
  li.dataset.id = id;
  li.addEventListener('click', (ev) => {
    if (ev.target.tagName !== 'INPUT') openChat({ chatType, id, name });
  });
}

async function loadConversations() {
  const page = await api('GET', '/api/chat/conversations', { limit: 50 });
  const ul = $('conversations');
  ul.replaceChildren();
  for (const c of page.list) {
    const li = el('li', { className: 'conv' }, el('span', { textContent: c.name || `#${c.id}` }));
    if (c.unread > 0) li.append(el('span', { className: 'badge', textContent: c.unread_more ? '999+' : String(c.unread) }));
    if (c.last_message) {
      const m = c.last_message;
      const text = m.isremove ? t('revoked') : m.type === 'systemNotice' ? t('notice') : String(m.data).slice(0, 20);
      li.append(el('span', { className: 'muted', textContent: text }));
    }
    openable(li, c.chatType, c.id, c.name);
    ul.append(li);
  }
}

async function loadFriends() {
  const data = await api('GET', '/api/chat/goodfriendlist/1');
  const ul = $('friends');
  ul.replaceChildren();
  for (const group of data.rows.newList) {
    for (const f of group.list) {
      const pick = el('input', { type: 'checkbox', className: 'pick', value: String(f.id) });
      const li = el('li', { className: 'friend' }, pick, el('span', { textContent: f.name }));
      li.dataset.name = f.username;
      openable(li, 'single', f.friend_id, f.name);
      ul.append(li);
    }
  }
}

async function loadGroups() {
  const groups = await api('GET', '/api/chat/grouplist/1');
  const ul = $('groups');
  ul.replaceChildren();
  for (const g of groups) {
    const li = el('li', { className: 'group' }, el('span', { textContent: g.name }));
    openable(li, 'group', g.id, g.name);
    ul.append(li);
  }
}

async function loadApplications() {
  const data = await api('GET', '/api/chat/listapplyfriend/1');
  const ul = $('applications');
  ul.replaceChildren();
  for (const a of data.alldata.filter((a) => a.status === 'pending')) {
    const who = (a.user && (a.user.nickname || a.user.username)) || `#${a.user_id}`;
    const accept = el('button', { className: 'accept', textContent: t('accept') });
    accept.addEventListener('click', async () => {
      try {
        await api('POST', `/api/chat/handleapply/${a.id}`, { status: 'agree', nickname: '' });
        await Promise.all([loadApplications(), loadFriends()]);
      } catch (e) {
        say(e.message);
      }
    });
    const li = el('li', { className: 'application' }, el('span', { textContent: who }), accept);
    li.dataset.name = a.user ? a.user.username : '';
    ul.append(li);
  }
}

async function search() {
  try {
    const users = await api('POST', '/api/chat/searchUser', { keyword: $('search').value });
    const ul = $('search-results');
    ul.replaceChildren();
    for (const u of users) {
      const add = el('button', { className: 'apply', textContent: t('add') });
      add.addEventListener('click', async () => {
        try {
          await api('POST', '/api/chat/applyfriend', { friend_id: u.id, nickname: '' });
          add.disabled = true;
          add.textContent = t('requested');
        } catch (e) {
          say(e.message);
        }
      });
      const li = el('li', { className: 'found' }, el('span', { textContent: u.nickname || u.username }), add);
      li.dataset.name = u.username;
      ul.append(li);
    }
  } catch (e) {
    say(e.message);
  }
}

async function createGroup() {
  const ids = [...document.querySelectorAll('#friends .pick:checked')].map((c) => Number(c.value));
  if (ids.length === 0) return say(t('noneTicked'));
  try {
    const g = await api('POST', '/api/chat/group/create', { userIds: ids });
    await loadGroups();
    await openChat({ chatType: 'group', id: g.id, name: g.name });
  } catch (e) {
    say(e.message);
  }
}

// --- A conversation ---

function messageItem(m) {
  const mine = me && m.from_id === me.id;
  const system = m.type === 'systemNotice';
  const li = el('li', { className: 'msg' + (mine ? ' mine' : '') + (system ? ' system' : '') });
  li.dataset.id = m.id;
  li.dataset.seq = m.seq;
  if (!system) li.append(el('span', { className: 'who', textContent: mine ? t('you') : m.from_name }));
  li.append(el('span', { className: 'text' }));
  render(li, m);
  return li;
}

function render(li, m) {
  const text = li.querySelector('.text');
  if (m.isremove) {
    li.classList.add('removed');
    text.textContent = t('revoked');
    const b = li.querySelector('.revoke');
    if (b) b.remove();
    return;
  }
  text.textContent = typeof m.data === 'string' ? m.data : JSON.stringify(m.data);
  const mine = me && m.from_id === me.id;
  if (mine && m.type !== 'systemNotice' && !li.querySelector('.revoke')) {
    const b = el('button', { className: 'revoke', textContent: t('revoke') });
    b.addEventListener('click', () => revoke(m));
    li.append(b);
  }
}

function belongs(m) {
  if (!current || !me) return false;
  if (m.chatType !== current.chatType) return false;
  if (m.chatType === 'group') return m.to_id === current.id;
  return (m.from_id === current.id && m.to_id === me.id) || (m.from_id === me.id && m.to_id === current.id);
}

async function openChat(c) {
  current = c;
  shown.clear();
  $('chat').hidden = false;
  $('chat-title').textContent = c.name || `#${c.id}`;
  $('messages').replaceChildren();
  $('members').textContent = '';
  for (const li of document.querySelectorAll('aside li.current')) li.classList.remove('current');
  for (const li of document.querySelectorAll(`aside li[data-chat-type="${c.chatType}"][data-id="${c.id}"]`)) li.classList.add('current');
  if (c.chatType === 'group') {
    const g = await api('GET', `/api/chat/groupinfo/${c.id}`);
    const names = (g.group_users || []).map((u) => u.nickname || (u.user && (u.user.nickname || u.user.username)) || u.user_id);
    $('members').textContent = `${t('members')}: ${names.join(', ')}`;
  }
  await loadOlder(true);
}

async function loadOlder(first) {
  const c = current;
  const params = { chatType: c.chatType, id: c.id, limit: 20 };
  if (!first && olderThan) params.before_seq = olderThan;
  const page = await api('GET', '/api/chat/history', params);
  if (c !== current) return;
  olderThan = page.next_before_seq;
  $('older').hidden = !olderThan;
  const ol = $('messages');
  const items = page.list.filter((m) => !shown.has(m.id)).reverse().map((m) => {
    shown.add(m.id);
    return messageItem(m);
  });
  ol.prepend(...items);
  if (first) {
    ol.scrollTop = ol.scrollHeight;
    markRead(page.list.length ? page.list[0].seq : 0);
  }
}

function markRead(seq) {
  if (!current || !seq) return;
  api('POST', '/api/chat/read', { chatType: current.chatType, id: current.id, seq }).then(loadConversations, () => {});
}

async function send(ev) {
  ev.preventDefault();
  const text = $('text').value;
  if (!text || !current) return;
  try {
    const m = await api('POST', '/api/chat/socket/sendmessage', {
      sendto_id: current.id, chatType: current.chatType, type: 'text', data: text,
      client_msg_id: crypto.randomUUID ? crypto.randomUUID() : String(Date.now() + Math.random()),
    });
    $('text').value = '';
    show(m);
  } catch (e) {
    say(e.message);
  }
}

async function revoke(m) {
  try {
    await api('POST', '/api/chat/revokeMessage', { id: m.id, chatType: m.chatType, to_id: m.to_id });
    const li = document.querySelector(`#messages li[data-id="${m.id}"]`);
    if (li) render(li, { ...m, isremove: 1 });
  } catch (e) {
    say(e.message);
  }
}

/// A message of the open conversation arrived (live, replayed offline, or my own answer).
function show(m) {
  if (m.actionType === 'revoke') {
    const li = document.querySelector(`#messages li[data-id="${m.id}"]`);
    if (li) render(li, { ...m, isremove: 1 });
    return;
  }
  if (shown.has(m.id)) return;
  shown.add(m.id);
  const ol = $('messages');
  ol.append(messageItem(m));
  ol.scrollTop = ol.scrollHeight;
}

// --- The WebSocket ---

function connect() {
  if (!token) return;
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws?token=${encodeURIComponent(token)}`;
  const socket = new WebSocket(url);
  ws = socket;
  socket.addEventListener('open', () => {
    say('');
    // Whatever came while no socket was open.
    api('POST', '/api/chat/chatGetmessageOffLine').catch(() => {});
  });
  socket.addEventListener('message', (ev) => {
    let frame;
    try {
      frame = JSON.parse(ev.data);
    } catch {
      return;
    }
    if (frame.type === 'singleChat' && frame.data) {
      const m = frame.data;
      if (belongs(m)) {
        show(m);
        if (m.from_id !== me.id && m.seq) {
          socket.send(JSON.stringify({ type: 'read', chatType: current.chatType, id: current.id, seq: m.seq }));
        }
      }
      if (m.type === 'systemNotice') {
        loadApplications().catch(() => {});
        loadFriends().catch(() => {});
        loadGroups().catch(() => {});
      }
      loadConversations().catch(() => {});
    } else if (frame.type === 'readSync') {
      loadConversations().catch(() => {});
    }
  });
  socket.addEventListener('close', () => {
    if (ws !== socket || !token) return;
    say(t('offline'));
    setTimeout(connect, 1000);
  });
}

// --- Wiring ---

$('lang').addEventListener('change', () => {
  lang = $('lang').value;
  localStorage.setItem('lang', lang);
  translate();
  if (token) loadConversations().catch(() => {});
});
$('login').addEventListener('click', () => signIn('/api/loginChat'));
$('register').addEventListener('click', () => signIn('/api/regChat'));
$('logout').addEventListener('click', async () => {
  await api('POST', '/api/chat/logout').catch(() => {});
  signOut();
});
$('search-btn').addEventListener('click', search);
$('create-group').addEventListener('click', createGroup);
$('older').addEventListener('click', () => loadOlder(false));
$('composer').addEventListener('submit', send);

translate();
if (token && me) start().catch((e) => say(e.message));

// The web client in a real browser: Debian's Chromium driven by playwright-core (no browser is
// downloaded). Two browser contexts, two users: they register, find each other, befriend, chat
// both ways, one revokes, one reads what came while they were away, they make a group and talk
// in it, one scrolls back through history, one switches to Chinese. A screenshot of the chat
// view is written to target/browser-chat.png.
//
// Usage: node chat.mjs http://127.0.0.1:PORT   (scripts/test.sh starts the server and runs it)

import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const base = process.argv[2];
assert.ok(base, 'usage: node chat.mjs <server origin>');
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const stamp = Date.now().toString(36).slice(-6);
const target = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'target');
const TIMEOUT = 10_000;

const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
const step = (what) => console.log(`[browser] ${what}`);

async function user(name) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on('pageerror', (e) => console.error(`[${name}] page error: ${e.message}`));
  await page.goto(`${base}/app/`);
  await page.fill('#username', name);
  await page.fill('#password', 'secret-pass');
  await page.click('#register');
  await page.waitForSelector('#main:not([hidden])');
  return { name, context, page };
}

async function openChatWith(u, selector) {
  await u.page.click(selector);
  await u.page.waitForSelector('#chat:not([hidden])');
}

async function send(u, text) {
  await u.page.fill('#text', text);
  await u.page.click('#send');
  await u.page.waitForSelector(`#messages li.mine .text >> text="${text}"`);
}

// Exact text of a message (so "line 4" is not "line 14").
const sees = (u, text) => u.page.waitForSelector(`#messages .text >> text="${text}"`);

try {
  const alice = await user(`alice_${stamp}`);
  const bob = await user(`bob_${stamp}`);
  step('registered both');

  // Alice finds Bob and asks; Bob accepts.
  await alice.page.fill('#search', bob.name);
  await alice.page.click('#search-btn');
  await alice.page.click(`#search-results li[data-name="${bob.name}"] .apply`);
  await alice.page.waitForSelector(`#search-results li[data-name="${bob.name}"] .apply[disabled]`);
  await bob.page.waitForSelector(`#applications li[data-name="${alice.name}"] .accept`);
  await bob.page.click(`#applications li[data-name="${alice.name}"] .accept`);
  await bob.page.waitForSelector(`#friends li[data-name="${alice.name}"]`);
  await alice.page.reload();
  await alice.page.waitForSelector(`#friends li[data-name="${bob.name}"]`);
  step('befriended');

  // One-to-one, both ways, live.
  await openChatWith(alice, `#friends li[data-name="${bob.name}"] span`);
  await openChatWith(bob, `#friends li[data-name="${alice.name}"] span`);
  await send(alice, 'hello bob');
  await sees(bob, 'hello bob');
  await send(bob, 'hi alice');
  await sees(alice, 'hi alice');
  step('chatted both ways');

  // Alice revokes: both see it revoked.
  await alice.page.click('#messages li.mine:has-text("hello bob") .revoke');
  await alice.page.waitForSelector('#messages li.removed');
  await bob.page.waitForSelector('#messages li.removed');
  step('revoked');

  // Bob goes away; Alice writes; Bob comes back and gets it.
  await bob.page.close();
  await send(alice, 'while you were away');
  bob.page = await bob.context.newPage();
  bob.page.setDefaultTimeout(TIMEOUT);
  await bob.page.goto(`${base}/app/`);
  await bob.page.waitForSelector('#conversations li.conv .badge');
  await openChatWith(bob, `#conversations li.conv[data-chat-type="single"]`);
  await sees(bob, 'while you were away');
  step('offline message arrived on return');

  // A group: Alice ticks Bob and creates it; both talk in it and see its members.
  await alice.page.check(`#friends li[data-name="${bob.name}"] .pick`);
  await alice.page.click('#create-group');
  await alice.page.waitForFunction(() => document.querySelector('#members').textContent.length > 0);
  await send(alice, 'welcome to the group');
  await bob.page.waitForSelector('#groups li.group');
  await openChatWith(bob, '#groups li.group span');
  await sees(bob, 'welcome to the group');
  const members = await bob.page.textContent('#members');
  assert.ok(members.includes(alice.name) || members.includes(bob.name), `members: ${members}`);
  await send(bob, 'thanks');
  await sees(alice, 'thanks');
  step('group');

  // History: 25 more messages; the view shows the last 20 and scrolls back by before_seq.
  await openChatWith(bob, `#friends li[data-name="${alice.name}"] span`);
  for (let i = 0; i < 25; i++) await send(bob, `line ${i}`);
  await bob.page.reload();
  await openChatWith(bob, `#friends li[data-name="${alice.name}"] span`);
  await sees(bob, 'line 24');
  // The newest 20 are line 5 … line 24; older ones come with the button.
  assert.equal(await bob.page.locator('#messages .text', { hasText: /^line 4$/ }).count(), 0);
  await bob.page.click('#older');
  await sees(bob, 'line 4');
  await sees(bob, 'hi alice');
  step('history');

  // Both languages.
  await alice.page.selectOption('#lang', 'zh');
  assert.equal(await alice.page.textContent('#send'), '发送');
  await alice.page.selectOption('#lang', 'en');
  assert.equal(await alice.page.textContent('#send'), 'Send');
  step('languages');

  mkdirSync(target, { recursive: true });
  await openChatWith(alice, `#friends li[data-name="${bob.name}"] span`);
  await sees(alice, 'line 24');
  await alice.page.screenshot({ path: join(target, 'browser-chat.png'), fullPage: true });
  step(`screenshot: ${join(target, 'browser-chat.png')}`);
} finally {
  await browser.close();
}
console.log('[browser] ok');

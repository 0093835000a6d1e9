// node_checks.js — what applications do with ioredis 5 and node-redis 5 (npm), run against one
// server: ioredis multi().exec(), defineCommand, pub/sub and a /1 URL; node-redis multi().exec(),
// a /1 URL, and clientSideCache (RESP3 client tracking) invalidated by another client's SET.
//
// Usage: node node_checks.js URL TARGET PENDING_FILE   (as redis_py_checks.py; NODE_PATH names
// the node_modules folder scripts/test installed ioredis and redis into). One line per check;
// exit status 1 when a check failed. Every wait has a deadline.
'use strict';
const fs = require('fs');
const Redis = require('ioredis');
const { createClient, BasicClientSideCache } = require('redis');

const [URL, TARGET, PENDING_FILE] = process.argv.slice(2);
const PENDING = new Set(
  fs.readFileSync(PENDING_FILE, 'utf8').split('\n').map((l) => l.split('#')[0].trim()).filter(Boolean));
let failures = 0;

// Fails after ms: bounds every wait of a check.
function deadline(ms, what) {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), ms).unref());
}
function assert(cond, what) {
  if (!cond) throw new Error(`assertion failed: ${what}`);
}

async function check(name, needs, fn) {
  const pending = TARGET === 'flightcache' && needs && PENDING.has(needs);
  try {
    await Promise.race([fn(), deadline(10000, name)]);
  } catch (e) {
    if (pending) {
      console.log(`  expected failure: ${name} (${needs} not merged yet): ${e.message}`);
    } else {
      failures++;
      console.log(`  FAIL  ${name}: ${e.message}`);
    }
    return;
  }
  if (pending) {
    failures++;
    console.log(`  FAIL  ${name}: passes now; remove '${needs}' from ${PENDING_FILE}`);
  } else {
    console.log(`  ok    ${name}`);
  }
}

// An ioredis client that fails fast instead of retrying forever.
function ioredis(url) {
  const r = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => null });
  r.on('error', () => {});  // failures reach the commands' promises
  return r;
}

async function main() {
  const admin = ioredis(URL);
  await admin.flushall();

  await check('ioredis multi().exec() runs a transaction', null, async () => {
    const results = await admin.multi().set('io:k', 'v').incr('io:n').get('io:k').exec();
    assert(JSON.stringify(results) === JSON.stringify([[null, 'OK'], [null, 1], [null, 'v']]),
      `results ${JSON.stringify(results)}`);
  });

  await check('ioredis defineCommand (a Lua script, EVALSHA)', 'lua', async () => {
    const r = ioredis(URL);
    try {
      r.defineCommand('incrTwice', { numberOfKeys: 1, lua: "return redis.call('INCRBY', KEYS[1], 2)" });
      assert((await r.incrTwice('io:twice')) === 2, 'first call');
      assert((await r.incrTwice('io:twice')) === 4, 'second call (EVALSHA of the loaded script)');
    } finally {
      r.disconnect();
    }
  });

  await check('ioredis pub/sub', null, async () => {
    const sub = ioredis(URL);
    try {
      await sub.subscribe('io:channel');
      const got = new Promise((resolve) => sub.on('message', (ch, msg) => resolve(`${ch} ${msg}`)));
      assert((await admin.publish('io:channel', 'hello')) === 1, 'one receiver');
      assert((await got) === 'io:channel hello', 'message');
    } finally {
      sub.disconnect();
    }
  });

  await check('ioredis /1 URL writes to db 1', 'databases', async () => {
    const db1 = ioredis(`${URL}/1`);
    try {
      await db1.set('io:db', 'one');
      assert((await db1.get('io:db')) === 'one', 'db 1 reads its key');
      assert((await admin.get('io:db')) === null, 'db 0 does not see it');
      await db1.flushdb();
    } finally {
      db1.disconnect();
    }
  });

  await check('node-redis multi().exec()', null, async () => {
    const c = createClient({ url: URL });
    c.on('error', () => {});
    await c.connect();
    try {
      const results = await c.multi().set('nr:k', 'v').incr('nr:n').get('nr:k').exec();
      assert(JSON.stringify(results) === JSON.stringify(['OK', 1, 'v']), JSON.stringify(results));
    } finally {
      await c.quit();
    }
  });

  await check('node-redis /1 URL connects and keeps db 1 apart', 'databases', async () => {
    const c = createClient({ url: `${URL}/1` });
    c.on('error', () => {});
    await c.connect();
    try {
      await c.set('nr:db', 'one');
      assert((await c.get('nr:db')) === 'one', 'db 1 reads its key');
      assert((await admin.get('nr:db')) === null, 'db 0 does not see it');
      await c.flushDb();
    } finally {
      await c.quit();
    }
  });

  await check('node-redis clientSideCache is invalidated by another client\'s SET', null, async () => {
    const cache = new BasicClientSideCache({ ttl: 0, maxEntries: 0, evictPolicy: 'LRU' });
    const c = createClient({ url: URL, RESP: 3, clientSideCache: cache });
    c.on('error', () => {});
    await c.connect();
    try {
      await admin.set('csc:k', 'v1');
      assert((await c.get('csc:k')) === 'v1', 'first read');
      assert((await c.get('csc:k')) === 'v1', 'second read');
      assert(cache.stats().hitCount === 1, `served from the local cache (stats ${JSON.stringify(cache.stats())})`);
      const invalidated = new Promise((resolve) => cache.once('invalidate', (key) => resolve(String(key))));
      await admin.set('csc:k', 'v2');
      assert((await invalidated) === 'csc:k', 'the invalidation names the key');
      assert((await c.get('csc:k')) === 'v2', 'the next read sees the new value');
    } finally {
      await c.quit();
    }
  });

  admin.disconnect();
}

main().then(() => process.exit(failures ? 1 : 0), (e) => {
  console.log(`  FAIL  node checks: ${e.stack}`);
  process.exit(1);
});

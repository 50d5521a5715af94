// Regenerate (from the repository root):
//
//	node cam/usersig/testdata/reference.js > cam/usersig/testdata/reference_vectors.json
//
// Generates UserSig and PrivateMapKey vectors with the reference
// implementation, npm tls-sig-api-v2 (tools/npm/node_modules), and prints them
// as JSON. The library reads the clock with Date.now(); this script replaces it
// with a scripted clock so the output is deterministic. It calls only the
// library's public functions (genUserSig, genPrivateMapKey,
// genPrivateMapKeyWithStringRoomID, genSig); the decoded fields are added for
// readers and for tests that compare JSON without depending on zlib's bytes.
'use strict';

const path = require('path');
const zlib = require('zlib');

const libDir = path.resolve(__dirname, '../../../tools/npm/node_modules/tls-sig-api-v2');
const TLSSigAPIv2 = require(libDir);
const libVersion = require(path.join(libDir, 'package.json')).version;

// The sample key published in the library's README and TLSSigAPITest.js.
// api-protocol.md §7's decoded UserSig for alice was signed with it.
const sampleKey = '5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e';
const otherKey = 'emulator-test-secret-0001';
const unicodeKey = 'clé-秘密-🔑';

// Date.now returns clock[0], clock[1], ... and then sticks at the last value.
function withClock(clock, fn) {
  const saved = Date.now;
  let i = 0;
  Date.now = () => clock[Math.min(i++, clock.length - 1)];
  try {
    return fn();
  } finally {
    Date.now = saved;
  }
}

function decode(ticket) {
  const b64 = ticket.replace(/_/g, '=').replace(/-/g, '/').replace(/\*/g, '+');
  const raw = Buffer.from(b64, 'base64');
  return { zlibHeader: raw.subarray(0, 2).toString('hex'), json: zlib.inflateSync(raw).toString('utf8') };
}

const cases = [];
function add(c) {
  cases.push(c);
}

// UserSigs.
const t0 = [1795489497000]; // 2026-11-24T03:04:57Z, the time of the §7 example
add({ name: 'usersig-doc-alice', kind: 'usersig', sdkappid: 1400000001, key: sampleKey, userid: 'alice', expire: 86400, clock: t0 });
add({ name: 'usersig-readme-xiaojun', kind: 'usersig', sdkappid: 1400000000, key: sampleKey, userid: 'xiaojun', expire: 86400 * 180, clock: [1700000000999] });
add({ name: 'usersig-expire-1s', kind: 'usersig', sdkappid: 1400000001, key: otherKey, userid: 'bob_01-x', expire: 1, clock: [1795489497123] });
add({ name: 'usersig-32-byte-id', kind: 'usersig', sdkappid: 1400000001, key: otherKey, userid: 'abcdefghijklmnopqrstuvwxyz_-0123', expire: 300, clock: [1795489497500] });
add({ name: 'usersig-appid-above-2^31', kind: 'usersig', sdkappid: 3000000001, key: otherKey, userid: 'alice', expire: 3600, clock: t0 });
add({ name: 'usersig-appid-max-uint32', kind: 'usersig', sdkappid: 4294967295, key: otherKey, userid: 'alice', expire: 3600, clock: t0 });
add({ name: 'usersig-intl-appid', kind: 'usersig', sdkappid: 20000001, key: otherKey, userid: 'alice', expire: 3600, clock: t0 });
add({ name: 'usersig-unicode-han', kind: 'usersig', sdkappid: 1400000001, key: otherKey, userid: '用户甲', expire: 86400, clock: t0 });
add({ name: 'usersig-unicode-latin', kind: 'usersig', sdkappid: 1400000001, key: otherKey, userid: 'émile-ß', expire: 86400, clock: t0 });
add({ name: 'usersig-unicode-emoji', kind: 'usersig', sdkappid: 1400000001, key: otherKey, userid: '👩‍🚀astro', expire: 86400, clock: t0 });
add({ name: 'usersig-json-escapes', kind: 'usersig', sdkappid: 1400000001, key: otherKey, userid: 'q"b\\s/<a>&\u0001\u001f\b\f\n\r\t\u007f\u2028\u2029', expire: 86400, clock: t0 });
add({ name: 'usersig-unicode-key', kind: 'usersig', sdkappid: 1400000001, key: unicodeKey, userid: 'alice', expire: 86400, clock: t0 });
add({ name: 'usersig-year-2039', kind: 'usersig', sdkappid: 1400000001, key: otherKey, userid: 'alice', expire: 600, clock: [2200000000500] });

// PrivateMapKeys with numeric rooms.
add({ name: 'pmk-doc-alice-1234-255', kind: 'privatemapkey', sdkappid: 1400000001, key: sampleKey, userid: 'alice', expire: 3600, roomid: 1234, privileges: 255, clock: t0 });
add({ name: 'pmk-readme-xiaojun-10000-255', kind: 'privatemapkey', sdkappid: 1400000000, key: sampleKey, userid: 'xiaojun', expire: 86400 * 180, roomid: 10000, privileges: 255, clock: [1700000000999] });
add({ name: 'pmk-room-max-priv-42', kind: 'privatemapkey', sdkappid: 1400000001, key: otherKey, userid: 'bob', expire: 300, roomid: 4294967295, privileges: 42, clock: [1795489497123] });
add({ name: 'pmk-room-1-priv-enter', kind: 'privatemapkey', sdkappid: 1400000001, key: otherKey, userid: 'carol', expire: 300, roomid: 1, privileges: 2, clock: t0 });
add({ name: 'pmk-priv-0', kind: 'privatemapkey', sdkappid: 1400000001, key: otherKey, userid: 'carol', expire: 300, roomid: 2147483648, privileges: 0, clock: t0 });
add({ name: 'pmk-priv-send-only', kind: 'privatemapkey', sdkappid: 1400000001, key: otherKey, userid: 'dave', expire: 300, roomid: 777, privileges: 2 | 4 | 16 | 64, clock: t0 });
add({ name: 'pmk-appid-above-2^31', kind: 'privatemapkey', sdkappid: 3000000001, key: otherKey, userid: 'erin', expire: 300, roomid: 5, privileges: 255, clock: t0 });
add({ name: 'pmk-year-2039', kind: 'privatemapkey', sdkappid: 1400000001, key: otherKey, userid: 'alice', expire: 600, roomid: 42, privileges: 255, clock: [2200000000500] });
// After 2106-02-07 the userbuf's 32-bit expiry wraps around.
add({ name: 'pmk-year-2106-wraps', kind: 'privatemapkey', sdkappid: 1400000001, key: otherKey, userid: 'alice', expire: 600, roomid: 42, privileges: 255, clock: [4294967000000] });

// PrivateMapKeys with string rooms.
add({ name: 'pmk-str-doc-room-abc-42', kind: 'privatemapkey', sdkappid: 1400000001, key: sampleKey, userid: 'alice', expire: 3600, roomstr: 'room-abc', privileges: 42, clock: t0 });
add({ name: 'pmk-str-readme-xiaojun', kind: 'privatemapkey', sdkappid: 1400000000, key: sampleKey, userid: 'xiaojun', expire: 86400 * 180, roomstr: '1000000040', privileges: 255, clock: [1700000000999] });
add({ name: 'pmk-str-64-char-room', kind: 'privatemapkey', sdkappid: 1400000001, key: otherKey, userid: 'frank', expire: 300, roomstr: 'r'.repeat(32) + '_-0123456789abcdefghijklmnopqrstu', privileges: 8 | 32 | 128, clock: [1795489497999] });
add({ name: 'pmk-str-unicode-key', kind: 'privatemapkey', sdkappid: 1400000001, key: unicodeKey, userid: 'grace', expire: 300, roomstr: 'lobby', privileges: 1, clock: t0 });

// Non-ASCII user ids and room strings: the library writes charCodeAt() of each
// UTF-16 code unit into the userbuf, keeping only its low 8 bits.
add({ name: 'pmk-unicode-user', kind: 'privatemapkey', sdkappid: 1400000001, key: otherKey, userid: '用户甲', expire: 300, roomid: 1234, privileges: 255, clock: t0, quirk: 'utf16-low-bytes' });
add({ name: 'pmk-str-unicode-room', kind: 'privatemapkey', sdkappid: 1400000001, key: otherKey, userid: 'alice', expire: 300, roomstr: '房间-1', privileges: 255, clock: t0, quirk: 'utf16-low-bytes' });
add({ name: 'pmk-latin1-user', kind: 'privatemapkey', sdkappid: 1400000001, key: otherKey, userid: 'émile', expire: 300, roomstr: 'café', privileges: 42, clock: t0, quirk: 'utf16-low-bytes' });

// The library reads Date.now() twice: once for the userbuf's absolute expiry
// and again for TLS.time. Across a second boundary the userbuf then expires
// one second before the ticket.
add({ name: 'pmk-clock-crosses-second', kind: 'privatemapkey', sdkappid: 1400000001, key: otherKey, userid: 'alice', expire: 300, roomid: 1234, privileges: 255, clock: [1795489497999, 1795489498000], quirk: 'clock-crosses-second' });

// genSig with an arbitrary userbuf.
const pattern = Buffer.alloc(300);
for (let i = 0; i < pattern.length; i++) pattern[i] = (i * 7 + 3) & 0xff;
add({ name: 'usersig-userbuf-bytes', kind: 'userbuf', sdkappid: 1400000001, key: otherKey, userid: 'alice', expire: 86400, userbuf: '000102ff7f80', clock: t0 });
add({ name: 'usersig-userbuf-300-bytes', kind: 'userbuf', sdkappid: 1400000001, key: otherKey, userid: 'alice', expire: 86400, userbuf: pattern.toString('hex'), clock: t0 });
add({ name: 'usersig-userbuf-empty', kind: 'userbuf', sdkappid: 1400000001, key: otherKey, userid: 'alice', expire: 86400, userbuf: '', clock: t0 });
add({ name: 'usersig-userbuf-text', kind: 'userbuf', sdkappid: 1400000001, key: sampleKey, userid: 'alice', expire: 86400, userbuf: Buffer.from('hello, emulator').toString('hex'), clock: t0 });

const vectors = cases.map((c) => {
  const api = new TLSSigAPIv2.Api(c.sdkappid, c.key);
  const ticket = withClock(c.clock, () => {
    switch (c.kind) {
      case 'usersig':
        return api.genUserSig(c.userid, c.expire);
      case 'userbuf':
        return api.genSig(c.userid, c.expire, Buffer.from(c.userbuf, 'hex'));
      case 'privatemapkey':
        if (c.roomstr !== undefined) {
          return api.genPrivateMapKeyWithStringRoomID(c.userid, c.expire, c.roomstr, c.privileges);
        }
        return api.genPrivateMapKey(c.userid, c.expire, c.roomid, c.privileges);
    }
    throw new Error('unknown kind ' + c.kind);
  });
  const d = decode(ticket);
  const doc = JSON.parse(d.json);
  const v = Object.assign({}, c, { ticket: ticket, zlib_header: d.zlibHeader, json: d.json });
  if (doc['TLS.userbuf'] !== undefined) {
    v.ticket_userbuf = Buffer.from(doc['TLS.userbuf'], 'base64').toString('hex');
  }
  return v;
});

process.stdout.write(JSON.stringify({
  generator: 'cam/usersig/testdata/reference.js',
  library: 'tls-sig-api-v2@' + libVersion,
  node: process.version,
  vectors: vectors,
}, null, 1) + '\n');

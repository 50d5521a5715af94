// Live cross-check between cam/usersig and npm tls-sig-api-v2, driven by
// TestLiveCrossCheck (go test ./cam/usersig/).
//
//	node crosscheck.js verify < cases.json   checks tickets made by Go
//	node crosscheck.js fresh                  issues tickets at the real time
//
// The library has no verify function, so "verify" decodes each ticket the way
// a server would and recomputes what the library would sign: the HMAC with its
// own _hmacsha256, the userbuf with its own _genUserbuf, and the whole ticket
// with genSig at the ticket's TLS.time. It prints one result per case.
'use strict';

const path = require('path');
const zlib = require('zlib');

const libDir = path.resolve(__dirname, '../../../tools/npm/node_modules/tls-sig-api-v2');
const TLSSigAPIv2 = require(libDir);

function inflate(ticket) {
  const b64 = ticket.replace(/_/g, '=').replace(/-/g, '/').replace(/\*/g, '+');
  return zlib.inflateSync(Buffer.from(b64, 'base64')).toString('utf8');
}

function atTime(ms, fn) {
  const saved = Date.now;
  Date.now = () => ms;
  try {
    return fn();
  } finally {
    Date.now = saved;
  }
}

function sameObject(a, b) {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return JSON.stringify(ka) === JSON.stringify(kb) && ka.every((k) => a[k] === b[k]);
}

function verify(c) {
  const problems = [];
  let doc;
  let js;
  try {
    js = inflate(c.ticket);
    doc = JSON.parse(js);
  } catch (e) {
    return { name: c.name, problems: ['decode: ' + e.message] };
  }
  const want = { 'TLS.ver': '2.0', 'TLS.identifier': c.userid, 'TLS.sdkappid': c.sdkappid, 'TLS.time': c.time, 'TLS.expire': c.expire };
  for (const k of Object.keys(want)) {
    if (doc[k] !== want[k]) problems.push(k + ' is ' + JSON.stringify(doc[k]) + ', want ' + JSON.stringify(want[k]));
  }
  const api = new TLSSigAPIv2.Api(c.sdkappid, c.key);
  const hmac = api._hmacsha256(doc['TLS.identifier'], doc['TLS.time'], doc['TLS.expire'], doc['TLS.userbuf']);
  if (hmac !== doc['TLS.sig']) problems.push('TLS.sig ' + doc['TLS.sig'] + ' but the library computes ' + hmac);

  let userbuf = null;
  if (c.kind === 'privatemapkey') {
    userbuf = atTime(c.time * 1000, () =>
      api._genUserbuf(c.userid, c.roomstr == null ? c.roomid : 0, c.expire, c.privileges, 0, c.roomstr == null ? null : c.roomstr));
    if (userbuf.toString('base64') !== doc['TLS.userbuf']) {
      problems.push('TLS.userbuf ' + doc['TLS.userbuf'] + ' but the library builds ' + userbuf.toString('base64'));
    }
  } else if (c.kind === 'userbuf') {
    userbuf = Buffer.from(c.userbuf, 'hex');
  }
  // The library's own ticket for the same inputs and clock.
  const theirs = inflate(atTime(c.time * 1000, () => api.genSig(c.userid, c.expire, userbuf)));
  if (!sameObject(JSON.parse(theirs), doc)) problems.push('library issues ' + theirs + ', Go issued ' + js);
  if (c.format === 'node' && theirs !== js) problems.push('JSON bytes differ: library ' + JSON.stringify(theirs) + ', Go ' + JSON.stringify(js));
  return { name: c.name, problems: problems };
}

function fresh() {
  const key = 'live-crosscheck-secret';
  const api = new TLSSigAPIv2.Api(1400000001, key);
  const base = { sdkappid: 1400000001, key: key, expire: 600 };
  return [
    Object.assign({ name: 'usersig', kind: 'usersig', userid: 'alice', ticket: api.genUserSig('alice', 600) }, base),
    Object.assign({ name: 'usersig-unicode', kind: 'usersig', userid: '用户-🚀', ticket: api.genUserSig('用户-🚀', 600) }, base),
    Object.assign({ name: 'pmk-numeric', kind: 'privatemapkey', userid: 'bob', roomid: 1234, privileges: 42, ticket: api.genPrivateMapKey('bob', 600, 1234, 42) }, base),
    Object.assign({ name: 'pmk-string', kind: 'privatemapkey', userid: 'carol', roomstr: 'room-abc', privileges: 255, ticket: api.genPrivateMapKeyWithStringRoomID('carol', 600, 'room-abc', 255) }, base),
    Object.assign({ name: 'userbuf', kind: 'userbuf', userid: 'dave', userbuf: '00ff10', ticket: api.genSig('dave', 600, Buffer.from('00ff10', 'hex')) }, base),
  ];
}

function main() {
  switch (process.argv[2]) {
    case 'verify': {
      const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));
      process.stdout.write(JSON.stringify(cases.map(verify)) + '\n');
      return;
    }
    case 'fresh':
      process.stdout.write(JSON.stringify(fresh()) + '\n');
      return;
  }
  process.stderr.write('usage: node crosscheck.js verify|fresh\n');
  process.exit(2);
}

main();

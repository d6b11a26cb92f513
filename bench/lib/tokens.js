// Keys and connect tokens for the auth benches, made with Node's crypto (not
// ringcast's code): `node bench/lib/tokens.js DIR N ALG...` writes into DIR
// (mode 0700) the keys (hs256 secret, 0600; rs256.pem and es256.pem public
// keys: 2048-bit RSA, P-256) and, for each ALG, ALG.paths (N request paths,
// /socket/websocket?token=..., token i for user-i, valid for 2 hours,
// topics bench:*) and ALG.again (the first of them alone).
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');

const [dir, nArg, ...algs] = process.argv.slice(2);
const n = Number(nArg);
if (!dir || !(n > 0) || !algs.length) {
  console.error('usage: tokens.js DIR N ALG... (HS256 RS256 ES256)');
  process.exit(2);
}
fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
const b64u = (b) => Buffer.from(b).toString('base64url');
const at = Math.floor(Date.now() / 1000);
const claims = (i) => ({ sub: `user-${i}`, iat: at, exp: at + 7200, topics: ['bench:*'] });
const secret = crypto.randomBytes(32).toString('hex');
fs.writeFileSync(`${dir}/hs256`, secret, { mode: 0o600 });
const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
fs.writeFileSync(`${dir}/rs256.pem`, rsa.publicKey.export({ type: 'spki', format: 'pem' }));
fs.writeFileSync(`${dir}/es256.pem`, ec.publicKey.export({ type: 'spki', format: 'pem' }));
const signers = {
  HS256: (i) => crypto.createHmac('sha256', secret).update(i).digest(),
  RS256: (i) => crypto.sign('sha256', Buffer.from(i), rsa.privateKey),
  ES256: (i) => crypto.sign('sha256', Buffer.from(i), { key: ec.privateKey, dsaEncoding: 'ieee-p1363' }),
};
for (const alg of algs) {
  const f = signers[alg];
  if (!f) { console.error(`tokens.js: unknown alg ${alg}`); process.exit(2); }
  const head = b64u(JSON.stringify({ alg, typ: 'JWT' }));
  const lines = [];
  for (let i = 0; i < n; i++) {
    const input = `${head}.${b64u(JSON.stringify(claims(i)))}`;
    lines.push(`/socket/websocket?token=${input}.${b64u(f(input))}`);
  }
  fs.writeFileSync(`${dir}/${alg}.paths`, `${lines.join('\n')}\n`);
  fs.writeFileSync(`${dir}/${alg}.again`, `${lines[0]}\n`);
}

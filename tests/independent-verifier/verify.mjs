// An independent verifier of Attest evidence exports, written from docs/evidence-format.md alone
// (Node.js standard library only). Usage: node verify.mjs <export dir> <public key file>...
// Exit codes: 0 valid, 1 tampered, 2 unverifiable.
import { createHash, createPublicKey, verify as edVerify } from 'node:crypto';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const [dir, ...keyFiles] = process.argv.slice(2);
const sha256 = (b) => createHash('sha256').update(b).digest();
const hex = (b) => Buffer.from(b).toString('hex');
const fail = (msg) => { console.log('TAMPERED: ' + msg); process.exit(1); };
const unverifiable = (msg) => { console.log('UNVERIFIABLE: ' + msg); process.exit(2); };

// section 2: canonical form. JSON.stringify escapes strings as the spec requires; members sorted by UTF-16
// code units (JavaScript's default string order); integers only, below 2^53.
function canonical(v) {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new Error('not an integer below 2^53');
    return String(v);
  }
  if (Array.isArray(v)) return '[' + v.map(canonical).join(',') + ']';
  return '{' + Object.keys(v).sort().map((k) => JSON.stringify(k) + ':' + canonical(v[k])).join(',') + '}';
}
function isCanonical(bytes) {
  const text = bytes.toString('utf8');
  if (/[\d.][eE]|\d\.\d/.test(text.replace(/"(?:[^"\\]|\\.)*"/g, '""'))) return false; // no floats
  try { return Buffer.from(canonical(JSON.parse(text)), 'utf8').equals(bytes); } catch { return false; }
}

// keys: base64 of the X.509 SubjectPublicKeyInfo; key id = first 16 hex of SHA-256 of that DER
const keys = new Map();
for (const f of keyFiles) {
  const der = Buffer.from(readFileSync(f, 'utf8').trim(), 'base64');
  keys.set(hex(sha256(der)).slice(0, 16), createPublicKey({ key: der, format: 'der', type: 'spki' }));
}

const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
for (const [file, digest] of Object.entries(manifest.files)) {
  if (!existsSync(join(dir, file))) fail(file + ': missing_file');
  if (hex(sha256(readFileSync(join(dir, file)))) !== digest) fail(file + ': manifest_mismatch');
}

const RECORD_TAG = Buffer.from('attest.evidence.v1\0', 'ascii');
const CHECKPOINT_TAG = Buffer.from('attest.checkpoint.v1\0', 'ascii');
let warnings = 0;
for (const chain of manifest.chains) {
  const lines = readFileSync(join(dir, chain.file)).toString('utf8').split('\n').filter((l) => l.length > 0);
  let prev = Buffer.from(chain.anchor_hash, 'hex');
  const hashes = new Map([[chain.first_position - 1, prev]]);
  let position = chain.first_position;
  for (const line of lines) {
    const bytes = Buffer.from(line, 'utf8');
    if (!isCanonical(bytes)) fail(`${chain.chain_id} position ${position}: not_canonical`);
    const entry = JSON.parse(line);
    if (entry.chain_id !== chain.chain_id || entry.position !== position) {
      fail(`${chain.chain_id} position ${position}: position_mismatch`);
    }
    prev = sha256(Buffer.concat([RECORD_TAG, prev, bytes]));
    hashes.set(position, prev);
    position++;
  }
  const length = position - 1;
  let previousCheckpoint = null;
  let anchored = 0;
  const cps = readFileSync(join(dir, chain.checkpoints)).toString('utf8').split('\n').filter((l) => l.length > 0);
  for (const cpLine of cps) {
    const cp = JSON.parse(cpLine);
    const signed = Buffer.from(cp.canonical, 'base64');
    const key = keys.get(cp.key_id);
    if (!key) unverifiable('no public key for key id ' + cp.key_id);
    if (!edVerify(null, signed, key, Buffer.from(cp.signature, 'hex'))) {
      fail(`${chain.chain_id} checkpoint at size ${cp.size}: bad_signature`);
    }
    if (!isCanonical(signed)) fail(`${chain.chain_id} checkpoint at size ${cp.size}: checkpoint_not_canonical`);
    const body = JSON.parse(signed.toString('utf8'));
    if (body.chain_id !== chain.chain_id || body.size !== cp.size || body.key_id !== cp.key_id) {
      fail(`${chain.chain_id} checkpoint at size ${cp.size}: checkpoint_mismatch`);
    }
    const expectedPrevious = previousCheckpoint === null ? null : hex(previousCheckpoint);
    if (body.previous !== expectedPrevious) fail(`${chain.chain_id} checkpoint at size ${cp.size}: checkpoint_chain_broken`);
    const cpHash = sha256(Buffer.concat([CHECKPOINT_TAG, signed]));
    previousCheckpoint = cpHash;
    if (cp.size < chain.first_position) continue; // the anchor checkpoint: links the next one
    if (cp.size > length) fail(`${chain.chain_id} position ${length + 1}: truncated`);
    if (hex(hashes.get(cp.size)) !== body.head) fail(`${chain.chain_id} position ${cp.size}: checkpoint_mismatch`);
    anchored = cp.size;
  }
  console.log(`${chain.chain_id}: positions ${chain.first_position} to ${length} verified, anchored up to ${anchored}`);
  if (length > anchored) {
    warnings++;
    console.log(`warning: ${chain.chain_id}: ${length - anchored} unanchored entries`);
  }
}
console.log('VALID');
process.exit(0);

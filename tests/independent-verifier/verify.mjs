// An independent verifier of Attest evidence, written from docs/evidence-format.md alone (Node.js standard
// library only). Usage:
//   node verify.mjs [--export] DIR [--from T --to T] [--witness FILE]... [--tolerance-ms MS] [--heartbeat-ms MS] KEY...
//   node verify.mjs --receipt FILE KEY...
// Prints "fault: ...", "incomplete: ...", then VALID | TAMPERED | INCOMPLETE | UNVERIFIABLE.
// Exit codes (section 5.4): 0 valid, 1 tampered or incomplete, 2 unverifiable.
import { createHash, createPublicKey, verify as edVerify } from 'node:crypto';
import { readFileSync, existsSync, lstatSync, realpathSync } from 'node:fs';
import { join } from 'node:path';

const sha256 = (...parts) => { const h = createHash('sha256'); parts.forEach((p) => h.update(p)); return h.digest(); };
const hex = (b) => Buffer.from(b).toString('hex');
// section 6.1: hex is lower case, compared as written. Buffer.from(x, 'hex') reads upper case and stops silently at
// the first non-hex character, so every hex value read goes through this: anything else is no bytes, and cannot match
const unhex = (s, bytes) => (typeof s === 'string' && /^(?:[0-9a-f]{2})*$/.test(s)
  && (bytes === undefined || s.length === 2 * bytes) ? Buffer.from(s, 'hex') : null);
const unhexOrEmpty = (s, bytes) => unhex(s, bytes) ?? Buffer.alloc(0);

// ---- arguments
const args = process.argv.slice(2);
const opt = { witnesses: [], keys: [], toleranceMs: 5000, heartbeatMs: 10000 };
const positional = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--export') opt.dir = args[++i];
  else if (a === '--from') opt.from = args[++i];
  else if (a === '--to') opt.to = args[++i];
  else if (a === '--witness') opt.witnesses.push(args[++i]);
  else if (a === '--receipt') opt.receipt = args[++i];
  else if (a === '--tolerance-ms') opt.toleranceMs = Number(args[++i]);
  else if (a === '--heartbeat-ms') opt.heartbeatMs = Number(args[++i]);
  else if (a === '--public-key') opt.keys.push(args[++i]);
  else positional.push(a);
}
if (!opt.dir && !opt.receipt) opt.dir = positional.shift();
opt.keys.push(...positional);

// ---- time (section 4.2: signed_at is ISO-8601 UTC, fraction of 0 to 9 digits); compared to the nanosecond
function nanos(s) {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z$/.exec(s);
  if (!m) throw new Error('not an ISO-8601 UTC instant: ' + s);
  return BigInt(Date.parse(m[1] + 'Z')) * 1000000n + BigInt((m[2] || '').padEnd(9, '0'));
}
const MS = 1000000n;

// ---- section 2: canonical form
function canonical(v) {
  if (v === null || typeof v === 'boolean') return JSON.stringify(v);
  if (typeof v === 'string') {
    if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(v)) throw new Error('lone surrogate');
    return JSON.stringify(v);
  }
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new Error('not an integer below 2^53');
    return String(v);
  }
  if (Array.isArray(v)) return '[' + v.map(canonical).join(',') + ']';
  return '{' + Object.keys(v).sort().map((k) => canonical(k) + ':' + canonical(v[k])).join(',') + '}';
}
// duplicate names: JSON.parse keeps the last, so re-serialising cannot give the same bytes back unless there are none;
// the text must also hold no number with a fraction or an exponent (the canonical writer would never produce one)
function isCanonical(bytes) {
  const text = bytes.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(bytes)) return false;
  if (/[\d.][eE]|\d\.\d/.test(text.replace(/"(?:[^"\\]|\\.)*"/g, '""'))) return false;
  try { return Buffer.from(canonical(JSON.parse(text)), 'utf8').equals(bytes); } catch { return false; }
}

// ---- section 3 and 8: hashes and the Merkle tree
const RECORD_TAG = Buffer.from('attest.evidence.v1\0', 'ascii');
const CHECKPOINT_TAG = Buffer.from('attest.checkpoint.v1\0', 'ascii');
const leafHash = (entry) => sha256(Buffer.from([0]), entry);
const nodeHash = (l, r) => sha256(Buffer.from([1]), l, r);
const EMPTY_ROOT = sha256(Buffer.alloc(0));
class Frontier { // roots of the perfect subtrees, largest first, one per set bit of size
  constructor(size, nodes) { this.size = size; this.nodes = nodes; }
  append(leaf) {
    let h = leaf; let n = this.size;
    while (n % 2 === 1) { h = nodeHash(this.nodes.pop(), h); n = Math.floor(n / 2); }
    this.nodes.push(h); this.size++;
  }
  root() {
    if (this.nodes.length === 0) return EMPTY_ROOT;
    let r = this.nodes[this.nodes.length - 1];
    for (let i = this.nodes.length - 2; i >= 0; i--) r = nodeHash(this.nodes[i], r);
    return r;
  }
}
const bitCount = (n) => { let c = 0; while (n > 0) { c += n % 2; n = Math.floor(n / 2); } return c; };
function verifyInclusion(index, size, leaf, proof, root) { // RFC 9162 section 2.1.3.2
  if (index < 0 || index >= size) return false;
  let fn = BigInt(index); let sn = BigInt(size - 1); let r = leaf;
  for (const p of proof) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      r = nodeHash(p, r);
      if ((fn & 1n) === 0n) while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1n; sn >>= 1n;
  }
  return sn === 0n && r.equals(root);
}

// ---- keys (section 4.3): base64 of the X.509 SubjectPublicKeyInfo; key id = first 16 hex of its SHA-256
const keys = new Map();
for (const f of opt.keys) {
  const der = Buffer.from(readFileSync(f, 'utf8').trim(), 'base64');
  keys.set(hex(sha256(der)).slice(0, 16), createPublicKey({ key: der, format: 'der', type: 'spki' }));
}
if (keys.size === 0) console.log('note: no public key given: no checkpoint can be trusted');

const faults = []; const gaps = []; let unverifiable = false;
const lateFaults = []; // reported only where nothing else is (a manifest's last_position: it would hide a line deleted)
function finish() {
  if (!faults.length && !gaps.length) faults.push(...lateFaults);
  faults.forEach((f) => console.log('fault: ' + f));
  gaps.forEach((g) => console.log('incomplete: ' + g));
  if (faults.length) { console.log('TAMPERED'); process.exit(1); }
  if (gaps.length) { console.log('INCOMPLETE'); process.exit(1); }
  if (unverifiable) { console.log('UNVERIFIABLE'); process.exit(2); }
  console.log('VALID'); process.exit(0);
}

// a checkpoint's signed fields (section 4.1); null when one is missing or malformed
function parseSigned(body, origin) {
  try {
    if (body.type !== 'checkpoint' || typeof body.chain_id !== 'string' || !Number.isSafeInteger(body.size)
      || typeof body.head !== 'string') return null;
    return { chain: body.chain_id, size: body.size, head: body.head, root: body.root ?? null, at: nanos(body.signed_at),
      atText: body.signed_at, state: body.state ?? null, heartbeat: body.heartbeat_ms ?? null,
      chains: Array.isArray(body.chains) ? body.chains : [], previous: body.previous, origin };
  } catch { return null; }
}

// ---- section 8.4: a receipt
if (opt.receipt) {
  const r = JSON.parse(readFileSync(opt.receipt, 'utf8'));
  const where = `receipt ${r.chain_id} position ${r.position}: `;
  try {
    const cp = Buffer.from(r.checkpoint.canonical, 'base64');
    const key = keys.get(r.checkpoint.key_id);
    if (!key) { console.log('note: ' + where + 'no public key for key id ' + r.checkpoint.key_id); unverifiable = true; finish(); }
    if (!edVerify(null, cp, key, unhexOrEmpty(r.checkpoint.signature))) { faults.push(where + 'bad_signature'); finish(); }
    if (!isCanonical(cp)) { faults.push(where + 'checkpoint_not_canonical'); finish(); }
    const body = JSON.parse(cp.toString('utf8'));
    if (body.chain_id !== r.chain_id || body.size !== r.tree_size || body.key_id !== r.checkpoint.key_id
      || typeof body.root !== 'string') { faults.push(where + 'receipt_mismatch'); finish(); }
    const entry = Buffer.from(r.entry, 'base64');
    if (!isCanonical(entry)) { faults.push(where + 'not_canonical'); finish(); }
    const e = JSON.parse(entry.toString('utf8'));
    if (e.chain_id !== r.chain_id || e.position !== r.position || r.leaf_index !== r.position - 1
      || e.subject_id !== r.record_id) { faults.push(where + 'receipt_mismatch'); finish(); }
    const proof = r.inclusion.map((h) => unhex(h, 32));
    const root = unhex(body.root, 32);
    if (proof.includes(null) || root === null
      || !verifyInclusion(r.position - 1, r.tree_size, leafHash(entry), proof, root)) {
      faults.push(where + 'bad_inclusion_proof'); finish();
    }
    console.log(`note: ${where}included in the tree of ${r.tree_size} entries signed at ${body.signed_at} (record ${e.subject_id})`);
  } catch (err) {
    faults.push(where + 'receipt_malformed');
  }
  finish();
}

// ---- section 6: an export
const dir = opt.dir;
// section 6.2: a missing or unreadable manifest makes the export UNVERIFIABLE
if (!existsSync(join(dir, 'manifest.json'))) { console.log('note: no manifest.json'); unverifiable = true; finish(); }
let manifest;
try { manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')); } catch { manifest = null; }
if (manifest === null || typeof manifest !== 'object' || Array.isArray(manifest)) {
  console.log('note: manifest.json is not a JSON object'); unverifiable = true; finish();
}
// section 6.2: formats 1 and 2 only; any other is not read as either
if (manifest.format !== 1 && manifest.format !== 2) {
  console.log('note: unknown export format (' + JSON.stringify(manifest.format ?? null) + ')'); unverifiable = true; finish();
}
if (!Array.isArray(manifest.chains)) { faults.push('export: manifest.json: missing_file (chains is not an array)'); manifest.chains = []; }
// section 6.1: paths are relative, use '/', never contain '..': resolved inside the export only
const inside = (file) => typeof file === 'string' && file.length > 0 && !file.startsWith('/') && !file.includes('\\')
  && !file.split('/').includes('..');
// ... and read through no link: a regular file (not a symbolic link) whose real path is under the export's
const contained = (file) => {
  if (!inside(file)) return false;
  try {
    const root = realpathSync(dir);
    return lstatSync(join(dir, file)).isFile() && realpathSync(join(dir, file)).startsWith(root + '/');
  } catch { return false; }
};
for (const [file, digest] of Object.entries(manifest.files ?? {})) {
  if (!inside(file) || !existsSync(join(dir, file))) faults.push('export: ' + file + ': missing_file');
  else if (!contained(file)) faults.push('export: ' + file + ': missing_file (a link, or a path outside the export)');
  else if (hex(sha256(readFileSync(join(dir, file)))) !== digest) faults.push('export: ' + file + ': manifest_mismatch');
}
// section 6.1: lines end with one line feed; split as bytes, never decoded (a line that is not UTF-8 is not canonical)
// an empty line is a line (not canonical), and a last line without its line feed is read and reported (terminated)
function lines(f) {
  const out = []; out.terminated = true;
  if (!contained(f)) return out; // a link, or outside the export: never read (missing_file)
  const all = readFileSync(join(dir, f)); let start = 0;
  for (let i = 0; i < all.length; i++) {
    if (all[i] === 0x0a) { out.push(all.subarray(start, i)); start = i + 1; }
  }
  if (start < all.length) { out.push(all.subarray(start)); out.terminated = false; }
  return out;
}
const seen = new Set();
for (const chain of manifest.chains) {
  if (seen.has(chain.chain_id)) {
    faults.push(`${chain.chain_id} position ${chain.first_position}: position_mismatch (the chain is listed twice in the manifest)`);
  }
  seen.add(chain.chain_id);
  for (const f of [chain.file, chain.checkpoints]) {
    if (!inside(f) || !existsSync(join(dir, f))) faults.push('export: ' + f + ': missing_file');
    else if (!contained(f)) faults.push('export: ' + f + ': missing_file (a link, or a path outside the export)');
  }
  // section 6.2: a position is an integer from 1 (2^64 + 5 is no position)
  if (!Number.isSafeInteger(chain.first_position) || chain.first_position < 1) {
    faults.push(`${chain.chain_id} position ${chain.first_position}: position_mismatch (first_position is not an integer from 1)`);
  }
  if (contained(chain.file)) {
    const l = lines(chain.file);
    const lastRead = chain.first_position + l.length - 1;
    if (!l.terminated) faults.push(`${chain.chain_id} position ${lastRead}: not_canonical (the last line ends without its line feed)`);
    if ('last_position' in chain && chain.last_position !== lastRead) {
      lateFaults.push(`${chain.chain_id} position ${chain.last_position}: position_mismatch (last_position is not the last line's position)`);
    }
  }
  if (chain.frontier !== undefined && !Array.isArray(chain.frontier)) {
    faults.push(`${chain.chain_id} position ${chain.first_position}: anchor_mismatch (the frontier is not an array)`);
    continue;
  }
  if (contained(chain.checkpoints)) {
    const cl = lines(chain.checkpoints);
    if (!cl.terminated) faults.push(`${chain.chain_id} checkpoint line ${cl.length}: checkpoint_mismatch (no line feed)`);
    cl.some((l, i) => {
      let ok = false;
      try { const n = JSON.parse(l.toString('utf8')); ok = n !== null && typeof n === 'object' && typeof n.canonical === 'string' && (n.size === undefined || Number.isSafeInteger(n.size)); } catch { ok = false; }
      if (!ok) faults.push(`${chain.chain_id} checkpoint line ${i + 1}: checkpoint_mismatch`);
      return !ok;
    });
  }
  if (chain.frontier && chain.frontier.length !== bitCount(chain.first_position - 1)) {
    faults.push(`${chain.chain_id} position ${chain.first_position}: anchor_mismatch`);
  } else if (unhex(chain.anchor_hash, 32) === null || (chain.frontier ?? []).some((h) => unhex(h, 32) === null)) {
    faults.push(`${chain.chain_id} position ${chain.first_position}: anchor_mismatch`);
  }
}
if (faults.length) finish();

const verified = new Map(); // chain id -> { signed, hashes, length }
const named = new Set();
const range = opt.from && opt.to ? { from: nanos(opt.from), to: nanos(opt.to) } : null;
const closures = []; // section 4.5: survivors' chain.closed statements { closer, position, at, chain, size, head }
chains: for (const chain of [...manifest.chains].sort((a, b) => (a.chain_id < b.chain_id ? -1 : 1))) {
  const id = chain.chain_id;
  const first = chain.first_position;
  let prev = unhexOrEmpty(chain.anchor_hash, 32);
  const hashes = new Map([[first - 1, prev]]);
  // section 6.3: format-2 checkpoints sign tree roots, and an export of them after position 1 carries the frontier,
  // whatever the manifest says of its format
  const signsRoots = lines(chain.checkpoints).some((l) => {
    try { const b = JSON.parse(Buffer.from(JSON.parse(l.toString('utf8')).canonical, 'base64').toString('utf8')); return b.root != null || b.format >= 2; } catch { return false; }
  });
  if (!chain.frontier && first > 1 && signsRoots) { faults.push(`${id} position ${first}: anchor_mismatch`); continue chains; }
  const tree = chain.frontier ? new Frontier(first - 1, chain.frontier.map((h) => unhexOrEmpty(h, 32)))
    : first === 1 ? new Frontier(0, []) : null;
  const roots = new Map();
  if (tree) roots.set(first - 1, tree.root());
  let position = first;
  for (const bytes of lines(chain.file)) {
    const line = bytes.toString('utf8');
    if (!isCanonical(bytes)) { faults.push(`${id} position ${position}: not_canonical`); continue chains; }
    const entry = JSON.parse(line);
    if (entry.chain_id !== id || entry.position !== position) {
      faults.push(`${id} position ${position}: position_mismatch`); continue chains;
    }
    if (entry.format !== 1) { faults.push(`${id} position ${position}: unsupported_format`); continue chains; }
    const r = entry.record;
    if (entry.kind === 'chain.closed' && r && typeof r.closed_chain_id === 'string' && Number.isInteger(r.size)
        && typeof r.head === 'string') {
      closures.push({ closer: id, position, at: nanos(entry.recorded_at), chain: r.closed_chain_id, size: r.size, head: r.head });
    }
    prev = sha256(RECORD_TAG, prev, bytes);
    hashes.set(position, prev);
    if (tree) { tree.append(leafHash(bytes)); roots.set(position, tree.root()); }
    position++;
  }
  const length = position - 1;
  let previousCheckpoint = null;
  let anchored = 0;
  const signed = [];
  for (const cpLine of lines(chain.checkpoints)) {
    const cp = JSON.parse(cpLine.toString('utf8'));
    const at = `${id} checkpoint at size ${cp.size}: `;
    const bytes = Buffer.from(cp.canonical, 'base64');
    const key = keys.get(cp.key_id);
    if (!key) { console.log('note: ' + at + 'no public key for key id ' + cp.key_id); unverifiable = true; continue chains; }
    if (!edVerify(null, bytes, key, unhexOrEmpty(cp.signature))) { faults.push(at + 'bad_signature'); continue chains; }
    if (!isCanonical(bytes)) { faults.push(at + 'checkpoint_not_canonical'); continue chains; }
    const body = JSON.parse(bytes.toString('utf8'));
    if (body.chain_id !== id || body.size !== cp.size || body.key_id !== cp.key_id) {
      faults.push(at + 'checkpoint_mismatch'); continue chains;
    }
    const expected = previousCheckpoint === null ? null : hex(previousCheckpoint);
    if (signed.length > 0 && body.previous !== expected) { faults.push(at + 'checkpoint_chain_broken'); continue chains; }
    const cpHash = sha256(CHECKPOINT_TAG, bytes);
    if (hex(cpHash) !== cp.hash) { faults.push(at + 'checkpoint_hash_mismatch'); continue chains; }
    const s = parseSigned(body, 'source');
    if (!s) { faults.push(at + 'checkpoint_mismatch'); continue chains; }
    const last = signed[signed.length - 1];
    if (last && (s.size < last.size || s.at < last.at)) { faults.push(`${id} position ${s.size + 1}: rollback`); continue chains; }
    signed.push(s);
    previousCheckpoint = cpHash;
    if (cp.size < first - 1) { // links only, in a format-1 export; a format-2 one opens at first_position - 1
      if (chain.frontier) { faults.push(`${id} position ${first}: anchor_mismatch`); continue chains; }
      continue;
    }
    if (cp.size > length) { faults.push(`${id} position ${length + 1}: truncated`); continue chains; }
    if (hex(hashes.get(cp.size)) !== body.head) { faults.push(`${id} position ${cp.size}: checkpoint_mismatch`); continue chains; }
    if (s.root !== null && roots.has(cp.size) && hex(roots.get(cp.size)) !== s.root) {
      faults.push(`${id} position ${cp.size}: root_mismatch`); continue chains;
    }
    anchored = cp.size;
  }
  signed.forEach((s) => s.chains.forEach((c) => named.add(c)));
  verified.set(id, { signed, hashes, length, first, anchored });
  console.log(`${id}: positions ${first} to ${length} verified, anchored up to ${anchored}`);
  if (length > anchored) console.log(`warning: ${id}: ${length - anchored} unanchored entries`);
}
// section 4.5: only signed closures count, and each must agree with the chain it closes
const signedClosures = closures.filter((c) => verified.has(c.closer) && c.position <= verified.get(c.closer).anchored);
for (const c of signedClosures) {
  const h = verified.get(c.chain)?.hashes.get(c.size);
  if (h && hex(h) !== c.head) { faults.push(`${c.chain} position ${c.size}: fork`); verified.delete(c.chain); }
}
// section 6: an export is cut at a signed checkpoint; lines past the last one (or past a signed closure) are unsigned
for (const [id, v] of verified) {
  const closed = signedClosures.filter((c) => c.chain === id).map((c) => Math.min(c.size, v.length));
  const anchored = Math.max(v.anchored, ...closed);
  if (v.length > anchored) gaps.push(`${id}: unanchored positions ${anchored + 1} to ${v.length}`);
}
if (range && manifest.chains.length === 0 && faults.length === 0) gaps.push(`*: uncovered_span ${opt.from} to ${opt.to}`);
if (range) for (const [id, v] of verified) coverage(id, v.signed, v.first);

function closedAfter(id, a, until) {
  return signedClosures.some((c) => c.chain === id && c.at >= a.at && (until === null || c.at <= until) && c.size >= a.size);
}

// section 5.3: coverage of [from, to)
function coverage(id, signed, first) {
  if (signed.length === 0) { gaps.push(`${id}: uncovered_span ${opt.from} to ${opt.to}`); return; }
  const f = signed[0];
  const born = f.previous === null && first === 1;
  if (f.at > range.from && !born) gaps.push(`${id}: uncovered_span ${opt.from} to ${f.atText}`);
  const l = signed[signed.length - 1];
  if (l.at < range.to && l.state !== 'stopped' && !closedAfter(id, l, null)) gaps.push(`${id}: uncovered_span ${l.atText} to ${opt.to}`);
  for (let i = 1; i < signed.length; i++) {
    const a = signed[i - 1]; const b = signed[i];
    if (a.state === 'stopped' || !(b.at > range.from) || !(a.at < range.to) || closedAfter(id, a, b.at)) continue;
    const period = BigInt(a.heartbeat ?? opt.heartbeatMs);
    if (b.at - a.at > (period + BigInt(opt.toleranceMs)) * MS) {
      gaps.push(`${id}: missing_heartbeat ${a.atText} to ${b.atText}`);
    }
  }
}

if (faults.length === 0 && !unverifiable) {
  for (const c of [...named].sort()) {
    if (!verified.has(c) && !manifest.chains.some((x) => x.chain_id === c)) gaps.push(`${c}: missing_chain`);
  }
  // section 4.4: witnesses
  const all = new Map([...verified].map(([k, v]) => [k, [...v.signed]]));
  const faulted = new Set();
  for (const file of opt.witnesses) {
    readFileSync(file, 'utf8').split('\n').forEach((raw, i) => {
      const line = raw.trim();
      if (!line) return;
      const origin = `witness line ${i + 1}`;
      let bytes; let sig; let keyId;
      try {
        const n = JSON.parse(line);
        if (n.schema === 'attest.checkpoint' && n.checkpoint && typeof n.checkpoint === 'object') {
          bytes = Buffer.from(canonical(n.checkpoint), 'utf8'); sig = Buffer.from(n.signature, 'base64');
          keyId = n.checkpoint.key_id;
        } else if (typeof n.canonical === 'string' && typeof n.signature === 'string') {
          bytes = Buffer.from(n.canonical, 'base64'); sig = unhexOrEmpty(n.signature); keyId = n.key_id;
        } else return;
      } catch { return; }
      const key = keys.get(keyId);
      if (!key || !edVerify(null, bytes, key, sig) || !isCanonical(bytes)) {
        console.log(`warning: ${origin}: ignored`); return;
      }
      const s = parseSigned(JSON.parse(bytes.toString('utf8')), origin);
      if (!s) return;
      if (!all.has(s.chain)) {
        const inRange = !range || (s.at >= range.from && s.at < range.to);
        if (inRange && !manifest.chains.some((x) => x.chain_id === s.chain)) {
          gaps.push(`${s.chain}: missing_chain`); all.set(s.chain, []);
        } else return;
      }
      if (faulted.has(s.chain)) return;
      const h = verified.get(s.chain)?.hashes.get(s.size);
      if (h && hex(h) !== s.head) { faults.push(`${s.chain} position ${s.size}: fork`); faulted.add(s.chain); return; }
      all.get(s.chain).push(s);
    });
  }
  for (const [id, list] of all) {
    if (faulted.has(id)) continue;
    list.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.size - b.size));
    const heads = new Map(); let maxSize = -1; let maxAt = null;
    for (const s of list) {
      if (heads.has(s.size) && heads.get(s.size) !== s.head) { faults.push(`${id} position ${s.size}: fork`); break; }
      if (!heads.has(s.size)) heads.set(s.size, s.head);
      if (s.size < maxSize && s.at > maxAt) { faults.push(`${id} position ${s.size + 1}: rollback`); break; }
      if (s.size > maxSize) { maxSize = s.size; maxAt = s.at; }
    }
  }
}
if (!range) console.log('note: coverage not checked: give --from and --to');
finish();

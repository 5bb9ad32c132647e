// A plain browser page on AIVM with @aivm/sdk, loaded as an ES module from ./aivm-sdk.js (the SDK's
// browser bundle, see README.md): connect to a node, pick a dev account, send a transfer, draw a
// digit and run the devnet's MNIST model on it, follow the request's status live, and check a zk
// proof in the page. Each finished step adds one line to <pre id="log"> starting with its name
// (connected:, transfer:, inference:, verify:, or error:), which the CI test reads.

import {
  AivmClient,
  DEV_MNEMONIC,
  getModelVerificationKey,
  getZkProof,
  listModels,
  requestInference,
  verifyZkResult,
  Wallet,
  waitForRequest,
} from './aivm-sdk.js';

// The devnet funds the first accounts of the public test mnemonic DEV_MNEMONIC ('test test ...
// junk', as Hardhat and Anvil do). Anyone can spend from them: devnet only, never real funds.
const DEV_ACCOUNTS = 10;
const CGPT = 10n ** 18n; // amounts are in wei, 10^-18 CGPT
const SIDE = 28; // the model's input is a 28x28 grey image, 784 floats in [0, 1], ink = 1
/** Tiers this page offers: the on-chain one (validators run the model in the block) and zk (a provider proves it). */
const PAGE_TIERS = ['zk', 'onchain'];

const rpcUrl = new URLSearchParams(location.search).get('rpc') ?? 'http://127.0.0.1:8545';
const $ = (id) => document.getElementById(id);

/** @type {AivmClient | undefined} */
let client;
/** @type {Wallet | undefined} */
let wallet;
/** The MNIST model as listModels returns it. */
let mnist;
/** The sample digit's 784 floats while the pad shows it unchanged; null once the user draws. */
let sample = null;
/** The last finalized zk request and the quantized input it was sent with, for the proof check. */
let lastZk;

function log(line) {
  $('log').textContent += `${line}\n`;
}

function formatCgpt(wei) {
  const frac = (wei % CGPT).toString().padStart(18, '0').replace(/0+$/, '').slice(0, 6);
  return `${wei / CGPT}${frac ? `.${frac}` : ''}`;
}

function parseCgpt(text) {
  const m = /^([0-9]+)(?:\.([0-9]{1,18}))?$/.exec(text.trim());
  if (!m) throw new Error(`amount: a number of CGPT with at most 18 decimals, got "${text}"`);
  return BigInt(m[1]) * CGPT + BigInt((m[2] ?? '').padEnd(18, '0'));
}

/** Runs a button's action with the button disabled; a failure is shown and logged as `error: <step>: ...`. */
function onClick(button, step, action) {
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      await action();
    } catch (err) {
      log(`error: ${step}: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      button.disabled = false;
    }
  });
}

// --- 1. Node ---------------------------------------------------------------------------------

$('rpc-url').textContent = rpcUrl;

onClick($('connect'), 'connect', async () => {
  client?.close();
  client = new AivmClient(rpcUrl);
  const { chainId, height } = await client.status().catch((err) => {
    // fetch says only "Failed to fetch" for a node that is down and for one that refuses CORS.
    if (!(err instanceof TypeError)) throw err;
    throw new Error(
      `${rpcUrl} did not answer (${err.message}): is the node running, and does it let pages of ${location.origin} call it? (a devnet does; aivm start needs --rpc-cors)`,
    );
  });
  $('chain-id').textContent = String(chainId);
  $('height').textContent = String(height);
  // New blocks over the WebSocket (ws://.../ws); the height follows them live.
  await client.subscribe('newBlocks', {}, (block) => {
    $('height').textContent = String(block.height);
  });

  const select = $('account');
  select.replaceChildren();
  for (let i = 0; i < DEV_ACCOUNTS; i++) {
    const address = Wallet.fromMnemonic(DEV_MNEMONIC, i, client).address;
    select.append(new Option(`#${i} ${address}`, String(i)));
  }
  select.disabled = false;
  await selectAccount();

  [mnist] = await listModels(client, { text: 'mnist' });
  const tierSelect = $('tier');
  tierSelect.replaceChildren();
  if (mnist) {
    $('model').textContent = `${mnist.name} ${mnist.id} (tiers ${mnist.tierNames.join(', ')})`;
    for (const tier of PAGE_TIERS.filter((t) => mnist.tierNames.includes(t)))
      tierSelect.append(
        new Option(tier === 'zk' ? 'zk (proven by a provider)' : 'onchain (run by validators)', tier),
      );
  } else {
    $('model').textContent = 'none on this chain (start a devnet with `npm start`)';
  }
  tierSelect.disabled = $('infer').disabled = tierSelect.options.length === 0;
  $('send').disabled = false;
  log(`connected: chain ${chainId} height ${height}`);
});

// --- 2. Account and transfer -------------------------------------------------------------------

async function selectAccount() {
  wallet = Wallet.fromMnemonic(DEV_MNEMONIC, Number($('account').value), client);
  $('address').textContent = wallet.address;
  await showBalance();
}

async function showBalance() {
  $('balance').textContent = formatCgpt(await client.getBalance(wallet.address));
}

$('account').addEventListener('change', () =>
  selectAccount().catch((err) => log(`error: account: ${err.message}`)),
);

onClick($('send'), 'transfer', async () => {
  const to = $('to').value.trim();
  if (!/^0x[0-9a-fA-F]{40}$/.test(to))
    throw new Error(`recipient: an address is 0x and 40 hex digits, got "${to}"`);
  const amount = parseCgpt($('amount').value);
  // transfer builds bank/send, estimates its gas, signs it (EIP-712) in the page and sends it.
  const hash = await wallet.transfer(to, amount);
  $('transfer-status').textContent = `sent ${hash}, waiting for a block…`;
  const tx = await client.waitForTx(hash, { timeoutMs: 30_000 });
  const outcome = tx.receipt.success ? 'committed' : `failed (${tx.receipt.error})`;
  $('transfer-status').textContent = `${hash} ${outcome} in block ${tx.height}`;
  log(
    `transfer: ${outcome} in block ${tx.height}, gas ${tx.receipt.gasUsed}, ${formatCgpt(amount)} CGPT to ${to}`,
  );
  await showBalance();
});

// --- 3. The drawing pad ----------------------------------------------------------------------

const pad = $('pad');
const ink = pad.getContext('2d', { willReadFrequently: true });

function clearPad() {
  ink.fillStyle = '#000';
  ink.fillRect(0, 0, pad.width, pad.height);
  sample = null;
}
clearPad();

/** The pointer's position in the pad's own pixels (its CSS size may differ). */
function at(event) {
  const r = pad.getBoundingClientRect();
  return [
    ((event.clientX - r.left) * pad.width) / r.width,
    ((event.clientY - r.top) * pad.height) / r.height,
  ];
}

// Pointer events cover mouse, pen and touch; touch-action: none (CSS) keeps the page from scrolling.
let last = null;
pad.addEventListener('pointerdown', (event) => {
  pad.setPointerCapture(event.pointerId);
  sample = null;
  last = at(event);
  stroke(last, last);
});
pad.addEventListener('pointermove', (event) => {
  if (!last) return;
  const next = at(event);
  stroke(last, next);
  last = next;
});
for (const end of ['pointerup', 'pointercancel']) pad.addEventListener(end, () => (last = null));

function stroke(from, to) {
  ink.strokeStyle = '#fff';
  ink.lineWidth = pad.width / 12;
  ink.lineCap = 'round';
  ink.beginPath();
  ink.moveTo(...from);
  ink.lineTo(...to);
  ink.stroke();
}

/** Paints 784 values in [0, 1] onto the pad (each one a 10x10 block). */
function showDigit(values) {
  const small = new ImageData(SIDE, SIDE);
  values.forEach((v, i) => {
    small.data.fill(Math.round(v * 255), i * 4, i * 4 + 3);
    small.data[i * 4 + 3] = 255;
  });
  const tmp = document.createElement('canvas');
  tmp.width = tmp.height = SIDE;
  tmp.getContext('2d').putImageData(small, 0, 0);
  ink.imageSmoothingEnabled = false;
  ink.drawImage(tmp, 0, 0, pad.width, pad.height);
}

/**
 * The drawing as the model's input, prepared the way MNIST digits were: the strokes' bounding box
 * scaled into 20x20 pixels, then moved so that its centre of mass is the middle of the 28x28 image.
 */
function padToDigit() {
  const { data } = ink.getImageData(0, 0, pad.width, pad.height);
  let [x0, y0, x1, y1] = [pad.width, pad.height, -1, -1];
  for (let y = 0; y < pad.height; y++)
    for (let x = 0; x < pad.width; x++)
      if (data[(y * pad.width + x) * 4] > 0) {
        [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
      }
  if (x1 < 0) throw new Error('the pad is empty: draw a digit or use the sample');
  const [w, h] = [x1 - x0 + 1, y1 - y0 + 1];
  const s = 20 / Math.max(w, h);
  const tmp = document.createElement('canvas');
  tmp.width = tmp.height = SIDE;
  const tctx = tmp.getContext('2d', { willReadFrequently: true });
  tctx.imageSmoothingQuality = 'high';
  tctx.drawImage(pad, x0, y0, w, h, (SIDE - w * s) / 2, (SIDE - h * s) / 2, w * s, h * s);
  const small = tctx.getImageData(0, 0, SIDE, SIDE).data;
  const grey = Array.from({ length: SIDE * SIDE }, (_, i) => small[i * 4] / 255);
  let [mass, mx, my] = [0, 0, 0];
  grey.forEach((v, i) => {
    mass += v;
    mx += v * (i % SIDE);
    my += v * Math.floor(i / SIDE);
  });
  const [dx, dy] = [Math.round((SIDE - 1) / 2 - mx / mass), Math.round((SIDE - 1) / 2 - my / mass)];
  const out = new Array(SIDE * SIDE).fill(0);
  grey.forEach((v, i) => {
    const [x, y] = [(i % SIDE) + dx, Math.floor(i / SIDE) + dy];
    if (x >= 0 && x < SIDE && y >= 0 && y < SIDE) out[y * SIDE + x] = v;
  });
  return out;
}

$('clear').addEventListener('click', clearPad);

onClick($('sample'), 'sample', async () => {
  const res = await fetch('./digit-7.json');
  if (!res.ok) throw new Error(`./digit-7.json: HTTP ${res.status}`);
  const [values] = await res.json(); // [[784 floats]], a 7 from the MNIST test set
  showDigit(values);
  sample = values;
  log('sample: digit-7.json on the pad');
});

// --- 3. Inference ----------------------------------------------------------------------------

function softmax(xs) {
  const max = Math.max(...xs);
  const e = xs.map((x) => Math.exp(x - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

function showResult(result) {
  $('class').textContent = String(result.argmax);
  // This MNIST model ends in its 10 scores (logits): the probabilities are their softmax.
  const probabilities = result.probabilities ?? softmax(result.values);
  $('probs').replaceChildren(
    ...probabilities.map((p, digit) => {
      const li = document.createElement('li');
      if (digit === result.argmax) li.className = 'top';
      const label = document.createElement('span');
      label.textContent = String(digit);
      const bar = document.createElement('meter');
      bar.value = p;
      bar.setAttribute('aria-label', `digit ${digit}`);
      const percent = document.createElement('span');
      percent.textContent = `${(p * 100).toFixed(1)}%`;
      li.append(label, bar, percent);
      return li;
    }),
  );
}

onClick($('infer'), 'inference', async () => {
  const tier = $('tier').value;
  const input = sample ?? padToDigit();
  lastZk = undefined;
  $('verify').disabled = true;
  $('verify-status').textContent = '';
  $('class').textContent = '…';
  $('probs').replaceChildren();
  $('history').replaceChildren();
  // The SDK quantizes the floats with the model's input scale (read once from its artifact) and
  // waits until the request transaction is committed.
  const sent = await requestInference(wallet, { modelId: mnist.id, tier, input });
  const done = await waitForRequest(client, sent.requestId, {
    record: sent.record,
    timeoutMs: 300_000,
    onStatus: (s) => {
      const li = document.createElement('li');
      li.textContent = `${s.status}${s.reason ? ` (${s.reason})` : ''}${s.height !== undefined ? `, block ${s.height}` : ''}`;
      $('history').append(li);
    },
  });
  const statuses = done.history.map((s) => s.status).join(',');
  if (done.status !== 'finalized' || !done.result) {
    $('class').textContent = '–';
    log(
      `inference: request ${sent.requestId} ${done.status}${done.reason ? ` (${done.reason})` : ''} tier ${tier} history ${statuses}`,
    );
    return;
  }
  showResult(done.result);
  log(
    `inference: request ${sent.requestId} finalized class ${done.result.argmax} tier ${tier} history ${statuses}`,
  );
  if (tier === 'zk') {
    lastZk = { done, input: sent.input };
    $('verify').disabled = false;
  }
});

// --- 3. Proof check --------------------------------------------------------------------------

onClick($('verify'), 'verify', async () => {
  if (!lastZk) throw new Error('no zk result to check: run an inference on the zk tier first');
  const { done, input } = lastZk;
  $('verify-status').textContent = 'checking…';
  // The proof from the transaction that submitted it; the verification key from chain state,
  // checked with state proofs and against the model's vkHash; the input this page sent and the
  // output the chain recorded.
  const proof = await getZkProof(client, done, done.result.slot);
  if (!proof) throw new Error(`no proof found for request ${done.id}`);
  const vk = await getModelVerificationKey(client, mnist);
  const started = performance.now();
  const ok = await verifyZkResult({
    proof: proof.proof,
    output: proof.output,
    input,
    vk,
    zkInputs: mnist.zkInputs,
    ...(mnist.zkWeights === 'private' ? { weightCommitment: mnist.weightCommitment } : {}),
  });
  const ms = Math.round(performance.now() - started);
  $('verify-status').textContent =
    `proof in ${proof.txHash} ${ok ? 'verified' : 'INVALID'} (${ms} ms in this page)`;
  log(`verify: proof ${ok ? 'verified' : 'INVALID'} (tx ${proof.txHash})`);
});

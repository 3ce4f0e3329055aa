// Drives one call of a real TypeScript SDK (@anthropic-ai/sdk or openai, from the committed lockfile) against a
// stampede server and prints what the SDK did as one JSON object, for sdkcompat/node_test.go to compare with the
// SDK's preset: each attempt (its send instant, status and retry headers, recorded by the fetch the SDK is given),
// each pause before a retry, the class of the error the call ended with, and the text it received.
//
// A pause is read at the source: the SDKs sleep with setTimeout from their internal/utils/sleep module, which this
// script wraps. A pause that Node runs as asked (an in-range delay up to 5 s, or anything Node itself turns into
// 1 ms: NaN, ≤ 0, > 2³¹−1 ms) runs on the real clock and is measured; a longer in-range one (30 s, 61 s, 121 s)
// fires at once and its requested delay is reported, so that no test waits minutes.
//
//	node run.mjs '{"sdk":"anthropic-ts"|"openai-node","baseURL":"http://127.0.0.1:PORT","stream":false,"timeoutMs":0}'
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';

const args = JSON.parse(process.argv[2]);
const longestRun = 5000; // ms
const timerMax = 2 ** 31 - 1; // Node's largest timer; above it setTimeout fires after 1 ms

const t0 = performance.now();
const sleeps = [];
const realSetTimeout = globalThis.setTimeout;
globalThis.setTimeout = function (fn, ms, ...rest) {
  const stack = new Error().stack ?? '';
  if (!/internal[\\/]utils[\\/]sleep\.m?js/.test(stack)) {
    return realSetTimeout(fn, ms, ...rest);
  }
  const rec = { requested: Number.isFinite(ms) ? ms : null, requestedText: String(ms) };
  sleeps.push(rec);
  const inRange = Number.isFinite(ms) && ms >= 1 && ms <= timerMax;
  if (inRange && ms > longestRun) {
    rec.skipped = true;
    return realSetTimeout(fn, 0, ...rest);
  }
  const started = performance.now();
  return realSetTimeout(() => {
    rec.measured = performance.now() - started;
    fn(...rest);
  }, ms);
};

const attempts = [];
const recordingFetch = async (url, init) => {
  const a = { at: performance.now() - t0 };
  attempts.push(a);
  const res = await fetch(url, init);
  a.status = res.status;
  a.headers = {};
  for (const h of ['retry-after', 'retry-after-ms', 'x-should-retry', 'x-stainless-retry-count']) {
    const v = res.headers.get(h);
    if (v !== null) a.headers[h] = v;
  }
  return res;
};

const opts = { maxRetries: 2, fetch: recordingFetch };
if (args.timeoutMs) opts.timeout = args.timeoutMs;

let text = '';
let streamStarted = false;
let error = null;
try {
  if (args.sdk === 'anthropic-ts') {
    const client = new Anthropic({ ...opts, apiKey: 'sk-ant-test', baseURL: args.baseURL });
    const params = { model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'Hello' }] };
    if (args.stream) {
      const stream = await client.messages.create({ ...params, stream: true });
      streamStarted = true;
      for await (const ev of stream) {
        if (ev.type === 'content_block_delta' && ev.delta.type === 'text_delta') text += ev.delta.text;
      }
    } else {
      const msg = await client.messages.create(params);
      text = msg.content.map((b) => b.text ?? '').join('');
    }
  } else if (args.sdk === 'openai-node') {
    const client = new OpenAI({ ...opts, apiKey: 'sk-test', baseURL: args.baseURL + '/v1' });
    const params = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello' }] };
    if (args.stream) {
      const stream = await client.chat.completions.create({ ...params, stream: true });
      streamStarted = true;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta?.content ?? '';
      }
    } else {
      const res = await client.chat.completions.create(params);
      text = res.choices[0]?.message?.content ?? '';
    }
  } else {
    throw new Error('unknown sdk ' + args.sdk);
  }
} catch (err) {
  error = { name: err?.constructor?.name ?? typeof err, message: String(err?.message ?? err), class: classify(err) };
}

function classify(err) {
  if (err instanceof Anthropic.APIConnectionTimeoutError || err instanceof OpenAI.APIConnectionTimeoutError) {
    return 'timeout';
  }
  if ((err instanceof Anthropic.APIError || err instanceof OpenAI.APIError) && err.status) {
    return 'api-' + err.status;
  }
  if (streamStarted) return 'stream';
  return 'other';
}

process.stdout.write(JSON.stringify({ attempts, sleeps, error, text }) + '\n');

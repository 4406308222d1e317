// The official openai client against a running tfc-serve (openai-client.test).
//
// usage: node client.js SPEC.json   (NODE_PATH: the installed node_modules)
//
// SPEC names the server (baseURL, apiKey, model) and the expected answers,
// which the calling script computed with tfc-run or numpy: greedy
// completions and chat, streaming and not, must equal them; embeddings
// (decoded by the client from base64, its default) must match the floats.
// Prints one `ok ...` line per check; any mismatch or exception exits 1.
'use strict';
const fs = require('fs');
const openai = require('openai');
const OpenAI = openai.OpenAI || openai;

const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));

function check(condition, message) {
  if (!condition) {
    console.log('FAIL: ' + message);
    process.exit(1);
  }
}

async function expectStatus(promise, status, what) {
  try {
    await promise;
  } catch (error) {
    check(error instanceof OpenAI.APIError && error.status === status,
          `${what}: ${error} (status ${error.status})`);
    return error;
  }
  check(false, `${what}: no error`);
}

async function generation(client) {
  const models = await client.models.list();
  check(models.data.length === 1 && models.data[0].id === spec.model, 'models ' + JSON.stringify(models.data));
  console.log('ok models.list');

  for (const c of spec.completions) {
    const answer = await client.completions.create({
      model: spec.model, prompt: c.prompt, max_tokens: c.max_tokens, temperature: 0 });
    check(answer.choices[0].text === c.expected, `completion ${JSON.stringify(answer.choices[0].text)} != ${JSON.stringify(c.expected)}`);
    check(answer.usage.completion_tokens === c.max_tokens, 'usage ' + JSON.stringify(answer.usage));
    let streamed = '';
    const stream = await client.completions.create({
      model: spec.model, prompt: c.prompt, max_tokens: c.max_tokens, temperature: 0, stream: true });
    for await (const chunk of stream)
      streamed += chunk.choices.length ? chunk.choices[0].text : '';
    check(streamed === c.expected, `streamed completion ${JSON.stringify(streamed)}`);
  }
  console.log('ok completions, streaming and not');

  const chat = spec.chat;
  const answer = await client.chat.completions.create({
    model: spec.model, messages: chat.messages, max_tokens: chat.max_tokens, temperature: 0 });
  check(answer.choices[0].message.role === 'assistant', 'chat role');
  check(answer.choices[0].message.content === chat.expected, `chat ${JSON.stringify(answer.choices[0].message.content)}`);
  let streamed = '';
  let finish = null;
  const stream = await client.chat.completions.create({
    model: spec.model, messages: chat.messages, max_tokens: chat.max_tokens, temperature: 0,
    stream: true, stream_options: { include_usage: true } });
  let usage = null;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    if (!chunk.choices.length) continue;
    streamed += chunk.choices[0].delta.content || '';
    finish = chunk.choices[0].finish_reason || finish;
  }
  check(streamed === chat.expected && finish === answer.choices[0].finish_reason, `streamed chat ${JSON.stringify(streamed)}`);
  check(usage && usage.completion_tokens === answer.usage.completion_tokens, 'streamed usage ' + JSON.stringify(usage));
  console.log('ok chat, streaming and not');

  await expectStatus(client.completions.create({ model: 'gpt-4', prompt: 'x' }), 404, 'unknown model');
  await expectStatus(client.completions.create({ model: spec.model, prompt: 'x', max_tokens: 100000 }), 400, 'max_tokens');
  const intruder = new OpenAI({ baseURL: spec.baseURL, apiKey: 'wrong', maxRetries: 0 });
  await expectStatus(intruder.models.list(), 401, 'wrong key');
  console.log('ok errors as APIError');
}

async function embeddings(client) {
  const answer = await client.embeddings.create({ model: spec.model, input: spec.embeddings.input });
  check(answer.data.length === spec.embeddings.expected.length, 'embedding count');
  answer.data.forEach((item, i) => {
    const want = spec.embeddings.expected[i];
    check(item.embedding.length === want.length, 'embedding length');
    item.embedding.forEach((v, d) => check(Math.abs(v - want[d]) < 1e-6, `embedding ${i}[${d}] ${v} != ${want[d]}`));
  });
  console.log('ok embeddings');
}

(async () => {
  const client = new OpenAI({ baseURL: spec.baseURL, apiKey: spec.apiKey || 'none', maxRetries: 0 });
  await (spec.embeddings ? embeddings(client) : generation(client));
})().catch((error) => {
  console.log('FAIL: ' + (error && error.stack || error));
  process.exit(1);
});

// chat-svc from Node's @grpc/grpc-js (a second client nobody here wrote): bidi chat, a deadline,
// cancellation and the health check. usage: node node_client.js PROTO_DIR TARGET
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');
const [protoDir, testsDir, target] = process.argv.slice(2);
const opts = {keepCase: true, enums: String, longs: String, defaults: true};
const chat = grpc.loadPackageDefinition(loader.loadSync(`${protoDir}/chat/v1/chat.proto`, {...opts, includeDirs: [protoDir]})).svckit.chat.v1;
const health = grpc.loadPackageDefinition(loader.loadSync(`${testsDir}/health.proto`, opts)).grpc.health.v1;
const client = new chat.ChatService(target, grpc.credentials.createInsecure());
const failures = [];
const check = (c, what) => { if (!c) failures.push(what); };
const timeout = (ms) => new Promise((_, rej) => setTimeout(() => rej(new Error('timeout')), ms));

async function bidi() {
  const call = client.BidirectionalChat();
  const got = [];
  const done = new Promise((resolve) => {
    call.on('data', (m) => {
      got.push(m);
      if (m.kind === 'KIND_JOIN') call.write({user_id: 'nodeuser', room: 'general', content: 'hi from node'});
      if (m.kind === 'KIND_MESSAGE' && m.content === 'hi from node') call.end();
    });
    call.on('end', resolve);
    call.on('error', (e) => { failures.push(`bidi error ${e.code} ${e.details}`); resolve(); });
  });
  call.write({user_id: 'nodeuser', room: 'general', kind: 'KIND_JOIN'});
  await Promise.race([done, timeout(5000)]);
  const msg = got.find((m) => m.content === 'hi from node');
  check(msg && msg.user_id === 'nodeuser' && Number(msg.id) > 0 && Number(msg.timestamp) > 0, 'node: message echoed with server fields');
}

async function deadline() {
  const call = client.BidirectionalChat({deadline: Date.now() + 300});
  const code = await new Promise((resolve) => {
    call.on('data', () => {});
    call.on('error', (e) => resolve(e.code));
    call.on('end', () => resolve('end'));
    call.write({user_id: 'late', room: 'general', kind: 'KIND_JOIN'});
  });
  check(code === grpc.status.DEADLINE_EXCEEDED, `node: deadline gave ${code}`);
}

async function cancel() {
  const call = client.BidirectionalChat({deadline: Date.now() + 20000});
  const code = await new Promise((resolve) => {
    call.on('data', (m) => { if (m.kind === 'KIND_JOIN') call.cancel(); });
    call.on('error', (e) => resolve(e.code));
    call.write({user_id: 'quitter', room: 'general', kind: 'KIND_JOIN'});
  });
  check(code === grpc.status.CANCELLED, `node: cancel gave ${code}`);
}

async function invalid() {
  const call = client.BidirectionalChat({deadline: Date.now() + 20000});
  const err = await new Promise((resolve) => {
    call.on('data', () => {});
    call.on('error', resolve);
    call.on('end', () => resolve(null));
    call.write({user_id: 'x', room: 'nowhere', kind: 'KIND_JOIN'});
  });
  check(err && err.code === grpc.status.INVALID_ARGUMENT && /unknown room/.test(err.details), `node: invalid gave ${err && err.code}`);
}

async function healthCheck() {
  const h = new health.Health(target, grpc.credentials.createInsecure());
  const res = await new Promise((resolve, reject) =>
    h.Check({service: ''}, {deadline: Date.now() + 20000}, (e, r) => (e ? reject(e) : resolve(r))));
  check(res.status === 'SERVING', `node: health ${res.status}`);
}

// Every call has its own deadline; this bounds the whole run even if one is missed.
setTimeout(() => { console.log('node client: timed out after 90 s: ' + failures.join('; ')); process.exit(1); }, 90000).unref();

(async () => {
  try {
    await bidi(); await deadline(); await cancel(); await invalid(); await healthCheck();
  } catch (e) { failures.push(String(e)); }
  if (failures.length) { console.log('node client failures:\n  ' + failures.join('\n  ')); process.exit(1); }
  console.log('node client: ok');
  process.exit(0);
})();

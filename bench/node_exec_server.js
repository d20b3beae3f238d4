// Baseline for bench/load.py: mcp-v8's stateless POST /api/exec, done by Node's http module
// and vm.runInNewContext (a fresh context per request, like a fresh isolate per stateless run).
// Answers {"output": "", "result": <the value as JSON>} or {"output": "", "error": "..."}.
// Usage: node bench/node_exec_server.js PORT   (0 binds a free port; the port is logged to stderr)
'use strict';
const http = require('http');
const vm = require('vm');

function execute(code) {
  try {
    // An empty sandbox: no console, so output stays empty as in mcp-v8 for code that prints nothing.
    // The timeout, as in mcp-v8, keeps a run from hanging the server; Node pays a watchdog thread per call.
    return { output: '', result: vm.runInNewContext(code, {}, { timeout: 30000 }) };
  } catch (error) {
    return { output: '', error: String(error) };
  }
}

function reply(response, status, body) {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  response.end(text);
}

const server = http.createServer((request, response) => {
  if (request.method !== 'POST' || request.url !== '/api/exec') {
    return reply(response, 404, { error: 'not found' });
  }
  const chunks = [];
  request.on('data', (chunk) => chunks.push(chunk));
  request.on('end', () => {
    let code;
    try {
      code = JSON.parse(Buffer.concat(chunks).toString()).code;
    } catch (error) {
      return reply(response, 400, { error: 'the body must be JSON' });
    }
    if (typeof code !== 'string') return reply(response, 400, { error: '"code" must be a string' });
    reply(response, 200, execute(code));
  });
});

server.listen(Number(process.argv[2] || 0), '127.0.0.1', () => {
  console.error(`listening on http://127.0.0.1:${server.address().port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));

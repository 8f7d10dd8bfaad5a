// A test upstream that answers every request after DELAY_MS (default 200) with a small
// JSON body. 127.0.0.1 only. Prints `READY http://127.0.0.1:<port>` once listening.
import http from 'node:http';

const delay = Number(process.env.DELAY_MS || 200);
const server = http.createServer((req, res) => {
  req.resume();
  setTimeout(() => {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  }, delay);
});
server.maxConnections = 5000;
// A deep accept queue: with node's default (511) a burst of 1,000 connects overflows it and
// the kernel's 1 s SYN retry shows up as latency.
server.listen({ port: Number(process.env.PORT || 0), host: '127.0.0.1', backlog: 4096 }, () => {
  console.log(`READY http://127.0.0.1:${server.address().port}`);
});

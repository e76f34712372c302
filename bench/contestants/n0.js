// N0: a Node socket.io 4 relay, the twin of S0 (same events, same acks, no auth).
//   node bench/contestants/n0.js PORT
"use strict";
const http = require("http");
const { Server } = require("socket.io");

const port = Number(process.argv[2]);
const httpServer = http.createServer();
const io = new Server(httpServer, {
  transports: ["websocket"],
  maxHttpBufferSize: 64 * 1024,
  pingInterval: 10000,
  pingTimeout: 10000,
  serveClient: false,
  perMessageDeflate: false,
});
const OK = { ok: true };

io.on("connection", (socket) => {
  socket.on("join", (data, cb) => {
    socket.join(data.room);
    if (typeof cb === "function") cb(OK);
  });
  for (const [event, field] of [["offer", "sdp"], ["answer", "sdp"], ["candidate", "candidate"]]) {
    socket.on(event, (data, cb) => {
      io.to(data.to).emit(event, { from: socket.id, [field]: data[field] });
      if (typeof cb === "function") cb(OK);
    });
  }
});

httpServer.listen(port, "127.0.0.1");
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => process.exit(0));

// An independent tus 1.0 server for interoperability tests: @tus/server with its file store.
// Usage: node server.mjs DIR READY_FILE [TOKEN]
// Listens on 127.0.0.1 on a free port and writes {"url": ..., "port": ...} to READY_FILE
// (temporary file, then rename). With TOKEN, requests need "Authorization: Bearer TOKEN".
import fs from "node:fs";
import { FileStore } from "@tus/file-store";
import { Server } from "@tus/server";

const [dir, readyFile, token] = process.argv.slice(2);
const server = new Server({
  path: "/files",
  relativeLocation: true,
  datastore: new FileStore({ directory: dir }),
  async onIncomingRequest(req) {
    if (!token) return;
    const header =
      typeof req.headers.get === "function" ? req.headers.get("authorization") : req.headers.authorization;
    if (header !== `Bearer ${token}`) {
      throw { status_code: 401, body: "Unauthorized" };
    }
  },
});
const http = server.listen({ host: "127.0.0.1", port: 0 }, () => {
  const port = http.address().port;
  const tmp = `${readyFile}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify({ url: `http://127.0.0.1:${port}/files/`, port }));
  fs.renameSync(tmp, readyFile);
});
for (const sig of ["SIGTERM", "SIGINT"]) {
  process.on(sig, () => http.close(() => process.exit(0)));
}

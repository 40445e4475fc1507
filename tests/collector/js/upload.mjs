// Uploads one file with tus-js-client and prints what happened as one JSON line.
// usage: node upload.mjs ENDPOINT TOKEN FILE METADATA_JSON CHUNK_SIZE
import { readFileSync } from "node:fs";
import * as tus from "tus-js-client";

const [endpoint, token, file, metadataJson, chunkSize] = process.argv.slice(2);
const data = readFileSync(file);
let confirmed = null;

const upload = new tus.Upload(data, {
  endpoint,
  chunkSize: Number(chunkSize),
  metadata: JSON.parse(metadataJson),
  headers: { Authorization: `Bearer ${token}` },
  retryDelays: [],
  onAfterResponse(req, res) {
    const sha = res.getHeader("Praxis-Package-Sha256");
    if (sha) confirmed = sha;
  },
  onError(error) {
    const status = error.originalResponse ? error.originalResponse.getStatus() : null;
    console.log(JSON.stringify({ ok: false, status, message: String(error.message).split("\n")[0] }));
    process.exit(1);
  },
  onSuccess() {
    console.log(JSON.stringify({ ok: true, url: upload.url, confirmed }));
  },
});
upload.start();

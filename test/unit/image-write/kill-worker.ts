// Worker of kill.test.ts: opens an image for writing through the library exactly as a repair would (undo record over
// the file, log replay allowed so a run killed earlier can continue) and performs writes start, start+1, ... of a
// deterministic sequence until it is killed. Each write is announced ("begin i") and confirmed ("done i") on stdout
// with a synchronous write, so what the parent reads is exactly what happened before the kill.
import { writeSync } from 'node:fs';
import { openImageForWrite } from '../../../src/image/open-writable.js';
import { FileDevice } from '../../../src/io/file-device.js';
import { NodeFileAccess } from '../../../src/io/node-file-access.js';
import { UndoRecorder } from '../../../src/io/undo-record.js';
import { killWrite } from './kill-writes.js';

interface Job {
  image: string;
  undo: string;
  seed: number;
  start: number;
  count: number;
  maxLen: number;
}

const job: Job = JSON.parse(process.argv[2]!);
const say = (s: string) => writeSync(1, `${s}\n`);
const file = await FileDevice.openWritable(job.image);
const rec = await UndoRecorder.start(file, await FileDevice.create(job.undo));
const img = await openImageForWrite(rec, { path: job.image, files: new NodeFileAccess(), replayLog: true });
say('ready');
for (let i = job.start; i < job.start + job.count; i++) {
  const w = killWrite(job.seed, i, img.size, job.maxLen);
  say(`begin ${i}`);
  await img.write(w.offset, w.data);
  say(`done ${i}`);
}
await img.flush();
await rec.finish();
say('finished');

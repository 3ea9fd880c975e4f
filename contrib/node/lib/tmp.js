// Private scratch directories on the worker's side (mode 0700: mkdtemp's),
// removed whole once a call is done.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function withTempDir(fn) {
	const dir = await mkdtemp(join(tmpdir(), 'jobcell-node-'));
	try {
		return await fn(dir);
	} finally {
		await rm(dir, { recursive: true, force: true });
	}
}

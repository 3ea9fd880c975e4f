// A volume-mode site for the tests, on the real engine, as
// tests/integration/*.sh make theirs: a site file in a temp directory, a
// unique site name, two empty site volumes (labelled jobcell-test.run), and
// at the end everything labelled with the site or the run removed.
import http from 'node:http';
import { mkdtemp, writeFile, rm, access } from 'node:fs/promises';
import { constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Jobcell } from '../index.js';

const here = dirname(fileURLToPath(import.meta.url));
export const BIN = process.env.JOBCELL_BIN ?? resolve(here, '../../../build/jobcell');
export const SOCK = process.env.JOBCELL_TEST_SOCKET ?? '/var/run/docker.sock';
export const IMAGE = 'jobcell-test/root:latest';

export function engine(method, path, body) {
	return new Promise((res, rej) => {
		const data = body === undefined ? undefined : JSON.stringify(body);
		const req = http.request({
			socketPath: SOCK, method, path, timeout: 20000,
			headers: data ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) } : {},
		}, (r) => {
			const chunks = [];
			r.on('data', (c) => chunks.push(c));
			r.on('end', () => {
				const text = Buffer.concat(chunks).toString('utf8');
				let json = null;
				try { json = JSON.parse(text); } catch { /* not JSON */ }
				res({ status: r.statusCode, json, text });
			});
		});
		req.on('timeout', () => req.destroy(new Error('engine request timed out')));
		req.on('error', rej);
		req.end(data);
	});
}

const filter = (label) => encodeURIComponent(JSON.stringify({ label: [label] }));

export async function containersBy(label) {
	const r = await engine('GET', `/containers/json?all=1&filters=${filter(label)}`);
	return (r.json ?? []).map((c) => c.Id);
}

export async function volumesBy(label) {
	const r = await engine('GET', `/volumes?filters=${filter(label)}`);
	return (r.json?.Volumes ?? []).map((v) => v.Name);
}

// Why the engine tests cannot run here, or null.
export async function unavailable() {
	try {
		await access(BIN, constants.X_OK);
	} catch {
		return `no jobcell binary at ${BIN} (make all, or set JOBCELL_BIN)`;
	}
	try {
		const p = await engine('GET', '/_ping');
		if (p.status !== 200)
			return `the engine at ${SOCK} answers /_ping with ${p.status}`;
	} catch (e) {
		return `no engine answers on ${SOCK}: ${e.message} (run contrib/bootstrap.sh)`;
	}
	const img = await engine('GET', `/images/${IMAGE}/json`);
	if (img.status !== 200)
		return `image ${IMAGE} is missing (run contrib/bootstrap.sh)`;
	return null;
}

// Skip T with the reason, or fail it when JOBCELL_REQUIRE_ENGINE=1.
export function skipOrFail(t, why) {
	if (process.env.JOBCELL_REQUIRE_ENGINE === '1')
		throw new Error(`skipped but JOBCELL_REQUIRE_ENGINE=1: ${why}`);
	console.log(`SKIP ${t.name}: ${why}`);
	t.skip(why);
}

// Make a site: returns {name, dir, config, client, jobPath, cleanup}.
export async function makeSite(tag, extra = {}) {
	const name = `nd${tag}${process.pid}`;
	const dir = await mkdtemp(join(tmpdir(), 'jobcell-nodeit.'));
	const jobPath = '/work';
	const sv = { startup: `${name}-startup`, local: `${name}-local` };
	for (const v of Object.values(sv)) {
		const r = await engine('POST', '/volumes/create', { Name: v, Labels: { 'jobcell-test.run': name } });
		if (r.status !== 201)
			throw new Error(`create site volume ${v}: ${r.status} ${r.text}`);
	}
	const lines = [
		'[engine]', `endpoint = unix://${SOCK}`,
		'[site]', `name = ${name}`,
		'[workspace]', 'mode = volume', `job_path = ${jobPath}`,
		'[volume]', `startup_volume = ${sv.startup}`, `local_volume = ${sv.local}`,
		'[job]', `image = ${IMAGE}`, 'user = 0:0', 'allow_root = true',
		'overridable = image, timeout, env, entrypoint', 'stop_grace = 1s',
		'[output]', `max_bytes = ${extra.maxBytes ?? '1m'}`,
	];
	const config = join(dir, `${name}.ini`);
	await writeFile(config, lines.join('\n') + '\n');
	const client = new Jobcell({ bin: BIN, config, cwd: dir });
	const cleanup = async () => {
		const left = [];
		for (const label of [`jobcell.site=${name}`, `jobcell-test.run=${name}`])
			for (const id of await containersBy(label)) {
				left.push(`container ${id.slice(0, 12)}`);
				await engine('DELETE', `/containers/${id}?force=1`);
			}
		for (const label of [`jobcell.site=${name}`, `jobcell-test.run=${name}`])
			for (const v of await volumesBy(label)) {
				if (!Object.values(sv).includes(v))
					left.push(`volume ${v}`);
				await engine('DELETE', `/volumes/${v}?force=1`);
			}
		await rm(dir, { recursive: true, force: true });
		return left;
	};
	return { name, dir, config, client, jobPath, cleanup };
}

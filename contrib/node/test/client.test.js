// What needs no engine: jobcell's own refusals through the client, and
// the runner's refusals of fields jobcell does not take.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, rm, access } from 'node:fs/promises';
import { constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Jobcell, JobcellError, runComponent, parseOutput, UnsupportedConfigError, IsolatedVolume } from '../index.js';
import { BIN, skipOrFail } from '../testlib/site.js';

async function binWhy() {
	try {
		await access(BIN, constants.X_OK);
		return null;
	} catch {
		return `no jobcell binary at ${BIN} (make all, or set JOBCELL_BIN)`;
	}
}

test('a refusal is a JobcellError with status 125, jobcell\'s line and its record', async (t) => {
	const why = await binWhy();
	if (why)
		return skipOrFail(t, why);
	const dir = await mkdtemp(join(tmpdir(), 'jobcell-nodeut.'));
	try {
		const config = join(dir, 'site.ini');
		await writeFile(config, '[site]\nname = ndunit\n[workspace]\nmode = volume\n[volume]\nstartup_volume = sv1\nlocal_volume = lv1\n[job]\nimage = jobcell-test/root:latest\n');
		const c = new Jobcell({ bin: BIN, config, cwd: dir });
		// a job name that looks like an option is judged as a name
		await assert.rejects(c.run('--keep', { cmd: ['true'] }), (e) => {
			assert.ok(e instanceof JobcellError);
			assert.equal(e.status, 125);
			assert.match(e.line, /job name/);
			assert.equal(e.record.exit_code, 125);
			assert.equal(e.record.error.kind, 'input');
			return true;
		});
		// entrypoint is not overridable on this site
		await assert.rejects(c.run('j', { entrypoint: 'sh', cmd: ['-c', 'true'] }),
			(e) => e.status === 125 && /entrypoint/.test(e.line));
		await assert.rejects(c.volume.create({ tenant: '../x' }), (e) => e.status === 125 && /tenant `\.\.\/x`/.test(e.line));
		// the tenant is jobcell's to judge: the volume class passes it on
		await assert.rejects(new IsolatedVolume('a b', 'r', { client: c }).initialize({}),
			(e) => e.status === 125 && /tenant/.test(e.line));
		await assert.rejects(new IsolatedVolume('t', 'r', { client: c }).initialize({ '../x': 'y' }), /\.\. component/);
		await assert.rejects(new IsolatedVolume('t', 'r', { client: c }).initialize({ '/etc/x': 'y' }), /absolute/);
	} finally {
		await rm(dir, { recursive: true, force: true });
	}
});

test('a missing binary rejects with the spawn error', async () => {
	const c = new Jobcell({ bin: '/nonexistent/jobcell' });
	await assert.rejects(c.ps(), (e) => e.code === 'ENOENT');
});

test('the runner refuses what jobcell does not take, before spawning anything', async () => {
	const c = new Jobcell({ bin: '/nonexistent/jobcell' }); // would fail with ENOENT if spawned
	for (const [cfg, pat] of [
		[{ image: 'i', network: 'bridge' }, /network `bridge` refused: a jobcell site decides/],
		[{ image: 'i', platform: 'linux/arm64' }, /platform refused/],
		[{ image: 'i', ports: { 8080: 80 } }, /ports refused/],
		[{ image: 'i', detached: true }, /detached refused/],
		[{ command: ['x'] }, /config.image/],
		[{ image: 'i', command: 'sh -c x' }, /array of words/],
		[{ image: 'i', volumes: [{ source: '/srv', target: '/in', readOnly: true }] }, /no host paths/],
	])
		await assert.rejects(runComponent(cfg, undefined, { client: c }), (e) => e instanceof UnsupportedConfigError && pat.test(e.message));
	const v = new IsolatedVolume('t', 'r', { client: c });
	v.volumeName = 'tenant-t-run-r-1-ab';
	await assert.rejects(runComponent({ image: 'i', volumes: [v.getVolumeConfig('/out', false)] }, undefined,
		{ client: c, jobPath: '/work' }), /job_path `\/work`/);
	await assert.rejects(runComponent({ image: 'i', volumes: [v.getVolumeConfig('/out', false)] }, undefined,
		{ client: c }), /needs opts.jobPath/);
});

test('parseOutput: JSON when it is JSON, else the text', () => {
	assert.deepEqual(parseOutput(Buffer.from(' {"a":[1,2]}\n')), { a: [1, 2] });
	assert.equal(parseOutput(Buffer.from(' 42 apples\n')), '42 apples');
	assert.deepEqual(parseOutput(Buffer.from(' \n')), {});
});

// The client and both adapters against the real engine, through the built
// jobcell binary.  A test that cannot run says SKIP and why; with
// JOBCELL_REQUIRE_ENGINE=1 it fails instead.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { JobcellError, IsolatedVolume, runComponent, UnsupportedConfigError } from '../index.js';
import { makeSite, unavailable, skipOrFail, containersBy, IMAGE } from '../testlib/site.js';

let why = null;
let site = null;

before(async () => {
	why = await unavailable();
	if (why === null)
		site = await makeSite('e');
});

after(async () => {
	if (site) {
		const left = await site.cleanup();
		// every test cleans up after itself: a leftover is a failure
		assert.deepEqual(left, [], `left behind: ${left.join(', ')}`);
	}
});

// eng(name, fn): a test that needs the engine
function eng(name, fn) {
	test(name, async (t) => {
		if (why !== null)
			return skipOrFail(t, why);
		await fn(t, site.client);
	});
}

const sha = (b) => createHash('sha256').update(b).digest('hex');
const ours = async (c) => (await c.volume.ls()).map((v) => v.volume);
async function nothingRunning(c) {
	assert.deepEqual(await c.ps({ all: true }), [], 'no container of the site is left');
	assert.deepEqual(await containersBy(`jobcell.site=${site.name}`), [], 'the engine agrees');
}
const tmpLeft = async () => (await readdir(tmpdir())).filter((n) => n.startsWith('jobcell-node-'));

eng('run: stdin, entrypoint, env, and the record from descriptor 3', async (t, c) => {
	const r = await c.run('stdin1', {
		entrypoint: 'sh', env: { GREETING: 'hi' }, stdin: '{"n": 41}\n',
		cmd: ['-c', 'read line; echo "$GREETING $line"; echo \'{"schema":1,"job":"forged"}\''],
	});
	assert.equal(r.status, 0);
	assert.equal(r.stdout.toString(), 'hi {"n": 41}\n{"schema":1,"job":"forged"}\n');
	assert.equal(r.record.job, 'stdin1', 'the record is jobcell\'s, not what the job printed');
	assert.equal(r.record.exit_code, 0);
	await nothingRunning(c);
});

eng('run: the job\'s own status is a JobcellError with the record', async (t, c) => {
	await assert.rejects(c.run('st3', { cmd: ['sh', '-c', 'echo out; exit 3'] }), (e) => {
		assert.ok(e instanceof JobcellError);
		assert.equal(e.status, 3);
		assert.equal(e.line, null, 'jobcell itself did not fail');
		assert.equal(e.record.job_status, 3);
		assert.equal(e.stdout.toString(), 'out\n');
		return true;
	});
});

eng('start, ps, wait, logs, stop, rm', async (t, c) => {
	const rec = await c.start('det1', { cmd: ['sh', '-c', 'echo started; sleep 30'] });
	assert.equal(rec.job, 'det1');
	assert.match(rec.container, /^[0-9a-f]{64}$/);
	assert.equal((await c.ps()).filter((p) => p.job === 'det1').length, 1);
	const w = await c.wait('det1', { timeout: 1, check: false });
	assert.equal(w.exit_code, 124, 'still running');
	await c.stop('det1', { grace: 1 });
	const w2 = await c.wait('det1', { check: false });
	assert.ok(w2.exit_code === 143 || w2.exit_code === 137, `stopped: ${w2.exit_code}`);
	assert.match((await c.logs('det1')).stdout.toString(), /started/);
	await c.rm('det1');
	await nothingRunning(c);
	await assert.rejects(c.rm('det1'), (e) => e.status === 125 && /det1/.test(e.line));
});

eng('round trip: initialize, a job reads the volume and writes output, readFiles', async (t, c) => {
	const input = new IsolatedVolume('acme', 'wf1', { client: c });
	const output = new IsolatedVolume('acme', 'wf1-out', { client: c });
	try {
		await input.initialize({ 'targets.txt': 'a.example\nb.example\n', 'cfg/settings.json': '{"deep":true}' });
		await output.initialize({});
		assert.match(input.volumeName, /^tenant-acme-run-wf1-/);
		const got = await runComponent({
			image: IMAGE,
			command: ['sh', '-c', 'p=$(cat); wc -l < /inputs/targets.txt > lines.txt; cp /inputs/cfg/settings.json copy.json; ' +
				'echo "{\\"params\\": $p, \\"cwd\\": \\"$(pwd)\\"}"'],
			stdinJson: true,
			timeoutSeconds: 30,
			volumes: [input.getVolumeConfig('/inputs', true), output.getVolumeConfig('/work', false)],
		}, { domains: 2 }, { client: c, jobPath: site.jobPath });
		assert.deepEqual(got, { params: { domains: 2 }, cwd: '/work' });
		const files = await output.readFiles(['lines.txt', 'copy.json']);
		assert.equal(files['lines.txt'].toString().trim(), '2');
		assert.equal(files['copy.json'].toString(), '{"deep":true}');
		assert.ok(Buffer.isBuffer(files['copy.json']));
		// text that is not JSON comes back as text
		assert.equal(await runComponent({ image: IMAGE, command: ['echo', 'plain words'] }, undefined,
			{ client: c, tenant: 'acme' }), 'plain words');
	} finally {
		await input.cleanup();
		await output.cleanup();
	}
	assert.deepEqual(await ours(c), []);
	await nothingRunning(c);
	assert.deepEqual(await tmpLeft(), [], 'no temp directory of the adapter left');
});

eng('binary files come back byte-exact', async (t, c) => {
	const all = Buffer.from([...Array(256).keys()]);
	const big = randomBytes(300 * 1024);
	const v = new IsolatedVolume('acme', 'bin1', { client: c });
	try {
		await v.initialize({ 'all.bin': all, 'big.bin': big, 'crlf.txt': 'a\r\nb\r\n\u00e9\u0000z' });
		// a job copies them inside the volume: through the container and back
		await runComponent({ image: IMAGE, command: ['sh', '-c', 'for f in *; do cp "$f" "copy-$f"; done'],
			volumes: [v.getVolumeConfig('/work', false)] }, undefined, { client: c, jobPath: site.jobPath });
		const f = await v.readFiles(['all.bin', 'copy-all.bin', 'copy-big.bin', 'copy-crlf.txt']);
		assert.ok(f['all.bin'].equals(all));
		assert.ok(f['copy-all.bin'].equals(all));
		assert.equal(sha(f['copy-big.bin']), sha(big));
		assert.ok(f['copy-crlf.txt'].equals(Buffer.from('a\r\nb\r\n\u00e9\u0000z')));
	} finally {
		await v.cleanup();
	}
});

eng('a timeout: 124, and no container or volume left', async (t, c) => {
	await assert.rejects(runComponent({ image: IMAGE, command: ['sleep', '60'], timeoutSeconds: 2 },
		undefined, { client: c, job: 'slow1' }), (e) => {
		assert.ok(e instanceof JobcellError);
		assert.equal(e.status, 124);
		assert.equal(e.record.timed_out, true);
		return true;
	});
	await nothingRunning(c);
	assert.deepEqual(await ours(c), [], 'the job\'s volume went with it');
});

eng('a missing image: JobcellError 125 with jobcell\'s line, nothing made', async (t, c) => {
	await assert.rejects(runComponent({ image: 'jobcell-test/no-such-image:latest', command: ['true'] },
		{ a: 1 }, { client: c, job: 'noimg' }), (e) => {
		assert.ok(e instanceof JobcellError);
		assert.equal(e.status, 125);
		assert.match(e.line, /no-such-image/);
		assert.ok(e.stderr.includes(`jobcell: error: ${e.line}`));
		assert.equal(e.record.exit_code, 125);
		return true;
	});
	await nothingRunning(c);
	assert.deepEqual(await ours(c), []);
});

eng('hostile output: symlinks out are refused and reported, the rest comes back', async (t, c) => {
	const v = new IsolatedVolume('acme', 'host1', { client: c });
	try {
		await v.initialize({ 'in.txt': 'x' });
		await assert.rejects(runComponent({ image: IMAGE, command: ['sh', '-c',
			'ln -s /etc/passwd leak; ln -s ../../../etc/shadow up; ln -s in.txt inside; echo fine > good.txt; ' +
			'echo c > "a:b"; echo n > "$(printf \'nl\\nname\')"; mkdir d; echo y > "d/x:y"'],
			volumes: [v.getVolumeConfig('/work', false)] }, undefined, { client: c, jobPath: site.jobPath }), (e) => {
			assert.ok(e instanceof JobcellError);
			assert.equal(e.status, 1);
			assert.match(e.line, /refused/);
			assert.match(e.line, /leak/);
			assert.match(e.line, /up/);
			assert.match(e.line, /not put back `a:b`/);
			assert.match(e.line, /not put back `nl\\nname`/);
			return true;
		});
		const f = await v.readFiles(['good.txt', 'd/x:y']);
		assert.equal(f['good.txt'].toString(), 'fine\n');
		assert.equal(f['d/x:y'].toString(), 'y\n', 'a colon below the top level goes back with its directory');
		for (const n of ['leak', 'up', 'inside'])
			await assert.rejects(v.readFiles([n]), `${n} never reached the volume`);
	} finally {
		await v.cleanup();
	}
	assert.deepEqual(await tmpLeft(), []);
});

eng('hostile output: a huge file is cut at [output] max_bytes', async (t, c) => {
	const v = new IsolatedVolume('acme', 'huge1', { client: c });
	try {
		await v.initialize({});
		await assert.rejects(runComponent({ image: IMAGE, command: ['sh', '-c',
			'head -c 3000000 /dev/urandom > big; echo small > small.txt'],
			volumes: [v.getVolumeConfig('/work', false)] }, undefined, { client: c, jobPath: site.jobPath }), (e) => {
			assert.equal(e.status, 125);
			assert.match(e.line, /max_bytes/);
			return true;
		});
		// nothing of the cut fetch was put back
		await assert.rejects(v.readFiles(['big']));
		// and a volume holding more than the limit is cut on the way out too
		const w = new IsolatedVolume('acme', 'huge2', { client: c });
		try {
			await w.initialize({ big: randomBytes(1200 * 1024) });
			await assert.rejects(w.readFiles(['big']), (e) => e.status === 125 && /max_bytes/.test(e.line));
		} finally {
			await w.cleanup();
		}
	} finally {
		await v.cleanup();
	}
	await nothingRunning(c);
	assert.deepEqual(await ours(c), []);
	assert.deepEqual(await tmpLeft(), []);
});

eng('cleanup after a failure leaves nothing', async (t, c) => {
	const v = new IsolatedVolume('acme', 'fail1', { client: c });
	let err = null;
	try {
		await v.initialize({ 'in.txt': 'x' });
		await runComponent({ image: IMAGE, command: ['sh', '-c', 'cat /inputs/in.txt; exit 7'],
			volumes: [v.getVolumeConfig('/inputs', true)] }, undefined, { client: c });
	} catch (e) {
		err = e;
	} finally {
		await v.cleanup();
	}
	assert.equal(err?.status, 7);
	assert.equal(err.stdout.toString(), 'x');
	assert.equal(v.volumeName, null);
	await v.cleanup(); // twice is no error
	assert.deepEqual(await ours(c), []);
	await nothingRunning(c);
});

eng('two tenants cannot see each other\'s volumes', async (t, c) => {
	const a = new IsolatedVolume('tenant-a', 'r1', { client: c });
	const b = new IsolatedVolume('tenant-b', 'r1', { client: c });
	try {
		await a.initialize({ 'secret.txt': 'a-only' });
		await b.initialize({ 'mine.txt': 'b' });
		assert.notEqual(a.volumeName, b.volumeName);
		// tenant a's job reads its own
		assert.equal(await runComponent({ image: IMAGE, command: ['cat', '/in/secret.txt'],
			volumes: [a.getVolumeConfig('/in', true)] }, undefined, { client: c }), 'a-only');
		// tenant b's job is refused a's volume before anything runs
		await assert.rejects(runComponent({ image: IMAGE, command: ['cat', '/in/secret.txt'],
			volumes: [b.getVolumeConfig('/mine', true), a.getVolumeConfig('/in', true)] }, undefined,
			{ client: c, job: 'snoop' }), (e) => {
			assert.equal(e.status, 125);
			assert.match(e.line, /not tenant `tenant-b`'s/);
			assert.equal(e.stdout.length, 0);
			return true;
		});
		await nothingRunning(c);
	} finally {
		await a.cleanup();
		await b.cleanup();
	}
	assert.deepEqual(await ours(c), []);
});

eng('refusals of the runner create nothing', async (t, c) => {
	for (const [cfg, pat] of [
		[{ image: IMAGE, command: ['true'], network: 'bridge' }, /network `bridge` refused/],
		[{ image: IMAGE, command: ['true'], network: 'host' }, /network `host` refused/],
		[{ image: IMAGE, command: 'true; rm -rf /' }, /array of words/],
		[{ image: IMAGE, command: ['true'], volumes: [{ source: '/etc', target: '/etc2', readOnly: true }] }, /no host paths/],
	])
		await assert.rejects(runComponent(cfg, undefined, { client: c }), (e) => e instanceof UnsupportedConfigError && pat.test(e.message));
	await nothingRunning(c);
	assert.deepEqual(await ours(c), []);
});

eng('onStart says when the job started, and an abort stops it and leaves nothing', async (t, c) => {
	const ac = new AbortController();
	let started = null;
	const p = runComponent({ image: IMAGE, command: ['sleep', '60'] }, undefined, {
		client: c, job: 'abort1', signal: ac.signal,
		onStart: (id) => { started = id; ac.abort(); },
	});
	await assert.rejects(p, (e) => {
		assert.ok(e instanceof JobcellError);
		assert.ok([137, 143].includes(e.status), `status ${e.status}: ${e.stderr}`);
		assert.equal(e.record.signal, 15);
		return true;
	});
	assert.match(started, /^[0-9a-f]{64}$/);
	await nothingRunning(c);
	assert.deepEqual(await ours(c), []);
	// a run refused before the start never calls onStart
	let called = false;
	await assert.rejects(c.run('abort2', { image: 'jobcell-test/no-such-image:latest', cmd: ['true'],
		onStart: () => { called = true; } }), (e) => e.status === 125);
	assert.equal(called, false);
});

eng('values and names that start with - are judged as values, never as options', async (t, c) => {
	await assert.rejects(c.run('dash1', { tenant: '--keep', cmd: ['true'] }),
		(e) => e.status === 125 && /tenant `--keep` must start/.test(e.line));
	await assert.rejects(c.run('dash2', { image: '--entrypoint=sh', cmd: ['true'] }), (e) => e.status === 125);
	const v = new IsolatedVolume('acme', 'dash', { client: c });
	try {
		await v.initialize({ '-x': 'minus', '--to=elsewhere': 'not an option' });
		const f = await v.readFiles(['-x', '--to=elsewhere']);
		assert.equal(f['-x'].toString(), 'minus');
		assert.equal(f['--to=elsewhere'].toString(), 'not an option');
	} finally {
		await v.cleanup();
	}
	await nothingRunning(c);
	assert.deepEqual(await ours(c), []);
});

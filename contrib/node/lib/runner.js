// runComponent: ShipSec Studio's docker runner (DockerRunnerConfig) on
// `jobcell run`.  The site decides what the runner's own config decided
// there (network, user, capabilities, limits); a field jobcell cannot
// honour is refused before anything runs, never dropped silently.
import { readdir, lstat, unlink, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { Jobcell, JobcellError } from './client.js';
import { withTempDir } from './tmp.js';

// The error of a config field jobcell does not take.
export class UnsupportedConfigError extends Error {
	constructor(msg) {
		super(`jobcell runner: ${msg}`);
		this.name = 'UnsupportedConfigError';
	}
}

// The job's stdout as the worker's own runner reads it: JSON when it parses
// as JSON, else the text trimmed, and {} when there is none.
export function parseOutput(buf) {
	const t = buf.toString('utf8').trim();
	if (t === '')
		return {};
	try {
		return JSON.parse(t);
	} catch {
		return t;
	}
}

function checkConfig(config) {
	if (!config || typeof config.image !== 'string' || config.image === '')
		throw new UnsupportedConfigError('config.image must be a non-empty string');
	const net = config.network;
	if (net !== undefined && net !== null && net !== 'none' && net !== 'default')
		throw new UnsupportedConfigError(`network \`${net}\` refused: a jobcell site decides the job's network ([job] network); give none or leave it unset`);
	if (config.platform !== undefined && config.platform !== null)
		throw new UnsupportedConfigError('platform refused: jobcell runs images already on the engine, for its own platform');
	if (config.ports && Object.keys(config.ports).length)
		throw new UnsupportedConfigError('ports refused: jobcell publishes no port (a job\'s network is the site\'s)');
	if (config.detached)
		throw new UnsupportedConfigError('detached refused: use Jobcell.start, whose container stays until rm');
	if (config.command !== undefined && !Array.isArray(config.command))
		throw new UnsupportedConfigError('command must be an array of words (no shell string)');
	if (config.entrypoint !== undefined && typeof config.entrypoint !== 'string')
		throw new UnsupportedConfigError('entrypoint must be one word');
	const rw = (config.volumes ?? []).filter((v) => !v.readOnly);
	if (rw.length > 1)
		throw new UnsupportedConfigError('at most one read-write volume: it is the job\'s own directory');
	for (const v of config.volumes ?? [])
		if (!v.jobcellVolume)
			throw new UnsupportedConfigError(`volume \`${v.source}\` at \`${v.target}\` refused: only IsolatedVolume.getVolumeConfig() entries (jobcell volumes), no host paths`);
	return rw[0] ?? null;
}

// Run CONFIG's job and resolve to its parsed stdout.  params: sent as JSON
// on the job's stdin (run -i) unless config.stdinJson is false.  opts:
// client (a Jobcell), job (its name; default config.containerName, else
// component-<random>), tenant
// and run (--tenant/--run of the job and of its volumes), jobPath (the
// site's [workspace] job_path: where a read-write volume must be mounted),
// onStart (called with the container id once the job has started), signal
// (an AbortSignal: the job is stopped and its container removed).
// A non-zero status rejects with a JobcellError: the job's own status,
// 124 on the timeout (the container is stopped and removed), 125 when
// jobcell failed, with its line.
export async function runComponent(config, params, opts = {}) {
	const rwVol = checkConfig(config);
	const client = opts.client ?? new Jobcell({ config: opts.config });
	if (rwVol && opts.jobPath !== undefined && rwVol.target !== opts.jobPath)
		throw new UnsupportedConfigError(`read-write volume at \`${rwVol.target}\` refused: jobcell mounts a job's writable directory at the site's [workspace] job_path \`${opts.jobPath}\``);
	if (rwVol && opts.jobPath === undefined)
		throw new UnsupportedConfigError('a read-write volume needs opts.jobPath, the site\'s [workspace] job_path, as its target');
	const tenant = opts.tenant ?? rwVol?.jobcellVolume.tenantId ?? config.volumes?.[0]?.jobcellVolume.tenantId;
	const run = opts.run ?? rwVol?.jobcellVolume.runId ?? config.volumes?.[0]?.jobcellVolume.runId;
	const runOpts = {
		onStart: opts.onStart,
		signal: opts.signal,
		image: config.image,
		entrypoint: config.entrypoint,
		env: config.env,
		cmd: config.command,
		tenant,
		run,
		mountVolumes: (config.volumes ?? []).filter((v) => v.readOnly).map((v) => `${v.source}:${v.target}`),
	};
	if (config.timeoutSeconds !== undefined && config.timeoutSeconds !== null)
		runOpts.timeout = config.timeoutSeconds;
	if (config.stdinJson !== false && params !== undefined)
		runOpts.stdin = JSON.stringify(params);
	// a containerName names the job (jobcell's container is
	// jobcell-SITE-JOB, and jobcell judges the name)
	const job = opts.job ?? config.containerName ?? `component-${randomBytes(6).toString('hex')}`;
	if (!rwVol) {
		const res = await client.run(job, runOpts);
		return parseOutput(res.stdout);
	}
	// The read-write volume is the job's own directory: its files go in
	// with --input, the job's directory comes back with --output and is
	// put into the volume again (files the job removed stay there).
	const vol = rwVol.jobcellVolume;
	return withTempDir(async (dir) => {
		await client.volume.get(vol.volumeName, [], 'in', { cwd: dir });
		runOpts.inputs = (await readdir(`${dir}/in`)).map((n) => `in/${n}:${n}`);
		runOpts.output = 'out';
		runOpts.cwd = dir;
		let res, failure = null;
		try {
			res = await client.run(job, runOpts);
		} catch (e) {
			// the job's directory came back even so: keep what it wrote
			if (!(e instanceof JobcellError))
				throw e;
			failure = e;
		}
		let outs = [];
		const dropped = [];
		try {
			await dropNonFiles(`${dir}/out`, '', dropped);
			outs = await readdir(`${dir}/out`);
		} catch (e) {
			// no output fetched (a refusal before the job)
			if (e.code !== 'ENOENT')
				throw e;
		}
		if (outs.length)
			await client.volume.put(vol.volumeName, outs.map((n) => `out/${n}:${n}`), { cwd: dir });
		if (failure)
			throw failure;
		refuseRefused(job, res, dropped, opts);
		return parseOutput(res.stdout);
	});
}

// `volume put` sends regular files and directories only: a symlink the
// job left in its directory (jobcell's --output keeps relative ones that
// stay inside) is taken out of what goes back, and reported.
async function dropNonFiles(root, rel, dropped) {
	for (const n of await readdir(`${root}/${rel}`)) {
		const r = rel ? `${rel}/${n}` : n;
		const st = await lstat(`${root}/${r}`);
		// a top-level name is written SRC:DEST, split at its first colon;
		// jobcell refuses a control byte in either
		// eslint-disable-next-line no-control-regex
		if (rel === '' && /[:\x00-\x1f\x7f]/.test(n)) {
			await rm(`${root}/${r}`, { recursive: true, force: true });
			dropped.push(`output: not put back \`${JSON.stringify(r).slice(1, -1)}\`: a colon or control byte in its name`);
		} else if (st.isDirectory())
			await dropNonFiles(root, r, dropped);
		else if (!st.isFile()) {
			await unlink(`${root}/${r}`);
			dropped.push(`output: not put back \`${r}\`: not a regular file or directory`);
		}
	}
}

// Members of the job's directory that did not come back (refused by
// jobcell's --output, or not put back) fail the run unless
// opts.allowRefused: the worker must not read a result with holes as
// whole.  Status 1, as `volume get` exits for a refused member.
function refuseRefused(job, res, dropped, opts) {
	const refused = [...res.warnings.filter((w) => w.startsWith('output: refused')), ...dropped];
	if (refused.length === 0 || opts.allowRefused)
		return;
	throw new JobcellError(['run', '--job', job], {
		...res,
		status: 1,
		line: `${refused.length} member(s) of job \`${job}\`'s directory refused: ${refused.join('; ')}`,
		warnings: [...res.warnings, ...dropped],
	});
}

// The client: one jobcell process per call, spawned with an argv array
// (never a shell), its --json record read from an extra pipe given to it
// as descriptor 3 (--status-fd 3), so that nothing a job prints on stdout
// can pass for a record.
import { spawn } from 'node:child_process';

const ERROR_PREFIX = 'jobcell: error: ';

// A jobcell call that did not end with status 0.  status is jobcell's exit
// status (the job's own, 124 timeout, 125 jobcell failed, 126/127, 128+N),
// line its own error line (without the prefix) or null, record its --json
// record or null, warnings its warning lines.
export class JobcellError extends Error {
	constructor(argv, res) {
		const line = res.line;
		let what = line;
		if (res.record?.timed_out && line === null)
			what = `job timed out (exit status ${res.status})`;
		else if (line === null)
			what = res.status === null ? `killed by ${res.signal}` : `exit code ${res.status}`;
		super(`jobcell ${argv.slice(0, 3).join(' ')}: ${what}`);
		this.name = 'JobcellError';
		this.status = res.status;
		this.line = line;
		this.record = res.record;
		this.stdout = res.stdout;
		this.stderr = res.stderr;
		this.warnings = res.warnings;
	}
}

// Lines of stderr that jobcell wrote about itself (errors, warnings, notes).
function jobcellLines(stderr, prefix) {
	return stderr.split('\n').filter((l) => l.startsWith(prefix)).map((l) => l.slice(prefix.length));
}

function parseRecord(text) {
	const t = text.trim();
	if (t === '')
		return null;
	// gc may add a failure record on a second line: the first is the answer
	const first = t.split('\n')[0];
	try {
		return JSON.parse(first);
	} catch {
		return null;
	}
}

export class Jobcell {
	// opts: bin (default $JOBCELL_BIN or "jobcell"), config (a site file,
	// -c) or site (--site NAME), cwd (jobcell's current directory: where
	// --input, --output and --to resolve when [volume] transfer_dir is
	// empty), env (its environment; default the process's).
	constructor(opts = {}) {
		this.bin = opts.bin ?? process.env.JOBCELL_BIN ?? 'jobcell';
		this.config = opts.config ?? null;
		this.site = opts.site ?? null;
		this.cwd = opts.cwd ?? process.cwd();
		this.env = opts.env ?? process.env;
		if (this.config !== null && this.site !== null)
			throw new TypeError('jobcell: give config or site, not both');
	}

	// Run jobcell with ARGS after the global options.  opts: stdin (a
	// string or Buffer written to its stdin, then closed), cwd, json
	// (default true), check (default true: a non-zero status throws),
	// onReady (with --ready-fd 4 among ARGS: called with the line written
	// there), signal (an AbortSignal: SIGTERM to jobcell).
	// Resolves to {status, signal, stdout (Buffer), stderr, record, line,
	// warnings}.
	exec(args, opts = {}) {
		const json = opts.json ?? true;
		const argv = [];
		if (this.config !== null)
			argv.push('-c', this.config);
		if (this.site !== null)
			argv.push('--site', this.site);
		if (json)
			argv.push('--json', '--status-fd', '3');
		argv.push(...args);
		return new Promise((resolve, reject) => {
			if (opts.signal?.aborted) {
				reject(opts.signal.reason ?? new Error('aborted'));
				return;
			}
			const stdio = ['pipe', 'pipe', 'pipe', 'pipe'];
			// descriptor 4: --ready-fd 4, the container id once started
			if (opts.onReady)
				stdio.push('pipe');
			const child = spawn(this.bin, argv, {
				cwd: opts.cwd ?? this.cwd,
				env: this.env,
				stdio,
				shell: false,
			});
			if (opts.onReady) {
				const ready = [];
				child.stdio[4].on('data', (b) => ready.push(b));
				child.stdio[4].on('error', () => {});
				child.stdio[4].on('end', () => {
					const id = Buffer.concat(ready).toString('utf8').trim();
					// end of file with no line: the run ended before the start
					if (id !== '')
						opts.onReady(id);
				});
			}
			// An abort asks jobcell to stop the job (SIGTERM: the container
			// is stopped and removed, and run exits); never SIGKILL, which
			// would leave the container behind.
			const onAbort = () => child.kill('SIGTERM');
			opts.signal?.addEventListener('abort', onAbort, { once: true });
			const out = [], err = [], rec = [];
			child.stdout.on('data', (b) => out.push(b));
			child.stderr.on('data', (b) => err.push(b));
			child.stdio[3].on('data', (b) => rec.push(b));
			// a job that stops reading its stdin is no error of ours
			child.stdin.on('error', () => {});
			child.stdio[3].on('error', () => {});
			child.on('error', (e) => reject(e));
			child.on('close', (status, signal) => {
				opts.signal?.removeEventListener('abort', onAbort);
				const stderr = Buffer.concat(err).toString('utf8');
				const res = {
					status,
					signal,
					stdout: Buffer.concat(out),
					stderr,
					record: parseRecord(Buffer.concat(rec).toString('utf8')),
					line: jobcellLines(stderr, ERROR_PREFIX)[0] ?? null,
					warnings: jobcellLines(stderr, 'jobcell: warning: '),
				};
				if (res.line === null && res.record?.error?.message)
					res.line = res.record.error.message;
				if ((opts.check ?? true) && status !== 0)
					reject(new JobcellError(args, res));
				else
					resolve(res);
			});
			if (opts.stdin !== undefined && opts.stdin !== null)
				child.stdin.end(opts.stdin);
			else
				child.stdin.end();
		});
	}

	// The job options that run, start and plan share, each as --opt=value:
	// a value a request supplied is never read as an option of its own.
	static jobArgs(o) {
		const a = [];
		if (o.image !== undefined)
			a.push(`--image=${o.image}`);
		if (o.entrypoint !== undefined)
			a.push(`--entrypoint=${o.entrypoint}`);
		for (const [k, v] of Object.entries(o.env ?? {}))
			a.push(`--env=${k}=${v}`);
		for (const kv of o.set ?? [])
			a.push(`--set=${kv}`);
		if (o.tenant !== undefined)
			a.push(`--tenant=${o.tenant}`);
		if (o.run !== undefined)
			a.push(`--run=${o.run}`);
		for (const i of o.inputs ?? [])
			a.push(`--input=${i}`);
		for (const m of o.mountVolumes ?? [])
			a.push(`--mount-volume=${m}`);
		if (o.keep)
			a.push('--keep');
		return a;
	}

	// The job's name always after --job, so that a name a request gave
	// is judged as a name and never read as an option.
	static cmdArgs(cmd) {
		return cmd && cmd.length ? ['--', ...cmd] : [];
	}

	// run JOB: opts as jobArgs, plus timeout (seconds or a duration
	// string), output (a directory relative to cwd), stdin (given: -i),
	// cmd (array), cwd, onStart (called with the container's id once it
	// has started: --ready-fd), signal (an AbortSignal: stops the job).
	// Resolves to exec's result with the run record.
	run(job, opts = {}) {
		const a = ['run', '--job', job, ...Jobcell.jobArgs(opts)];
		if (opts.timeout !== undefined)
			a.push(`--timeout=${typeof opts.timeout === 'number' ? `${opts.timeout}s` : opts.timeout}`);
		if (opts.output !== undefined)
			a.push(`--output=${opts.output}`);
		if (opts.stdin !== undefined && opts.stdin !== null)
			a.push('-i');
		if (opts.onStart)
			a.push('--ready-fd', '4');
		a.push(...Jobcell.cmdArgs(opts.cmd));
		return this.exec(a, { stdin: opts.stdin, cwd: opts.cwd, check: opts.check,
			onReady: opts.onStart, signal: opts.signal });
	}

	async start(job, opts = {}) {
		const a = ['start', '--job', job, ...Jobcell.jobArgs(opts), ...Jobcell.cmdArgs(opts.cmd)];
		return (await this.exec(a, { cwd: opts.cwd })).record;
	}

	async wait(job, opts = {}) {
		const a = ['wait', '--job', job];
		if (opts.timeout !== undefined)
			a.push(`--timeout=${typeof opts.timeout === 'number' ? `${opts.timeout}s` : opts.timeout}`);
		return (await this.exec(a, { check: opts.check })).record;
	}

	async stop(job, opts = {}) {
		const a = ['stop', '--job', job];
		if (opts.grace !== undefined)
			a.push(`--grace=${typeof opts.grace === 'number' ? `${opts.grace}s` : opts.grace}`);
		await this.exec(a);
	}

	// The job's output so far: {stdout, stderr} as Buffers.
	async logs(job) {
		const r = await this.exec(['logs', '--job', job]);
		return { stdout: r.stdout, stderr: Buffer.from(r.stderr, 'utf8') };
	}

	async rm(job) {
		await this.exec(['rm', '--job', job]);
	}

	async ps(opts = {}) {
		return (await this.exec(opts.all ? ['ps', '--all'] : ['ps'])).record ?? [];
	}

	async gc(opts = {}) {
		const a = ['gc'];
		if (opts.olderThan !== undefined)
			a.push(`--older-than=${opts.olderThan}`);
		if (opts.dryRun)
			a.push('--dry-run');
		if (opts.othersGone)
			a.push('--others-gone');
		return (await this.exec(a)).record;
	}

	async plan(job, opts = {}) {
		const a = ['plan', '--job', job, ...Jobcell.jobArgs(opts)];
		if (opts.timeout !== undefined)
			a.push(`--timeout=${typeof opts.timeout === 'number' ? `${opts.timeout}s` : opts.timeout}`);
		a.push(...Jobcell.cmdArgs(opts.cmd));
		return JSON.parse((await this.exec(a, { json: false })).stdout.toString('utf8'));
	}

	get volume() {
		return {
			// the new (kept) volume's name
			create: async (opts = {}) => {
				const a = ['volume', 'create'];
				if (opts.tenant !== undefined)
					a.push(`--tenant=${opts.tenant}`);
				if (opts.run !== undefined)
					a.push(`--run=${opts.run}`);
				return (await this.exec(a)).record.volume;
			},
			// sources: "SRC[:DEST]" relative to cwd
			put: async (name, sources, opts = {}) => {
				await this.exec(['volume', 'put', '--', name, ...sources], { cwd: opts.cwd });
			},
			// paths: in the volume (none: all of it), to: a directory
			// relative to cwd.  Resolves to {warnings}; a refused member
			// (status 1) throws unless check is false.
			get: async (name, paths, to, opts = {}) => {
				const r = await this.exec(['volume', 'get', `--to=${to}`, '--', name, ...paths],
					{ cwd: opts.cwd, check: opts.check });
				return { status: r.status, warnings: r.warnings, line: r.line };
			},
			ls: async () => (await this.exec(['volume', 'ls'])).record ?? [],
			rm: async (...names) => {
				await this.exec(['volume', 'rm', '--', ...names]);
			},
		};
	}
}

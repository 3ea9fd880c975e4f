// IsolatedVolume: ShipSec Studio's IsolatedContainerVolume on jobcell's
// volume mode.  The volume is made by `jobcell volume create` for one
// tenant and run (labelled with both; jobcell names it
// tenant-T-run-R-<time>-<nonce>), filled and read by `volume put` and
// `volume get` (jobcell's own transfer containers, never started; no
// container of ours, no chmod 777: files belong to the site's job user),
// and removed by `volume rm`.  A job mounts it read-only through
// --mount-volume, which jobcell allows only for a kept volume of the job's
// own tenant.
import { writeFile, mkdir, open } from 'node:fs/promises';
import { constants } from 'node:fs';
import { join, posix } from 'node:path';
import { Jobcell } from './client.js';
import { withTempDir } from './tmp.js';

// A file name of initialize or readFiles: relative, with no empty, . or
// .. component and no control byte; jobcell judges it again.
// initialize's names hold no colon either: `volume put` splits SRC:DEST at
// the first one.
export function checkName(name, colon = false) {
	if (typeof name !== 'string' || name === '')
		throw new TypeError('jobcell volume: a file name must be a non-empty string');
	// eslint-disable-next-line no-control-regex
	if (/[\x00-\x1f\x7f]/.test(name) || (!colon && name.includes(':')))
		throw new TypeError(`jobcell volume: file name ${JSON.stringify(name)} has a control byte${colon ? '' : ' or a colon'}`);
	if (name.startsWith('/'))
		throw new TypeError(`jobcell volume: file name ${JSON.stringify(name)} is absolute`);
	for (const c of name.split('/'))
		if (c === '' || c === '.' || c === '..')
			throw new TypeError(`jobcell volume: file name ${JSON.stringify(name)} has an empty, . or .. component`);
	return name;
}

export class IsolatedVolume {
	// tenantId and runId become jobcell's --tenant and --run (1 to 64 of
	// [A-Za-z0-9][A-Za-z0-9_.-]*; jobcell refuses others).  opts.client: a
	// Jobcell for the site (default: one from $JOBCELL_BIN and -c
	// opts.config).
	constructor(tenantId, runId, opts = {}) {
		this.tenantId = tenantId;
		this.runId = runId;
		this.client = opts.client ?? new Jobcell({ config: opts.config });
		this.volumeName = null;
	}

	// Make the volume and write FILES ({name: string | Buffer}) into it,
	// byte for byte.  Resolves to the volume's name.
	async initialize(files = {}) {
		if (this.volumeName !== null)
			throw new Error(`jobcell volume: ${this.volumeName} is initialized already`);
		const names = Object.keys(files).map((n) => checkName(n));
		for (const n of names)
			if (typeof files[n] !== 'string' && !Buffer.isBuffer(files[n]) && !(files[n] instanceof Uint8Array))
				throw new TypeError(`jobcell volume: content of ${JSON.stringify(n)} must be a string or a Buffer`);
		this.volumeName = await this.client.volume.create({ tenant: this.tenantId, run: this.runId });
		if (names.length === 0)
			return this.volumeName;
		try {
			await withTempDir(async (dir) => {
				for (const n of names) {
					await mkdir(join(dir, 'in', posix.dirname(n)), { recursive: true, mode: 0o700 });
					await writeFile(join(dir, 'in', n), files[n], { mode: 0o644, flag: 'wx' });
				}
				// each top-level entry once: a directory carries its files
				const tops = [...new Set(names.map((n) => n.split('/')[0]))];
				await this.client.volume.put(this.volumeName, tops.map((t) => `in/${t}:${t}`), { cwd: dir });
			});
		} catch (e) {
			await this.cleanup().catch(() => {});
			throw e;
		}
		return this.volumeName;
	}

	// A DockerRunnerConfig volume entry.  readOnly (the default) becomes
	// --mount-volume NAME:TARGET; read-write is the job's own directory
	// (see runComponent).
	getVolumeConfig(target = '/inputs', readOnly = true) {
		if (this.volumeName === null)
			throw new Error('jobcell volume: getVolumeConfig before initialize');
		return { source: this.volumeName, target, readOnly, jobcellVolume: this };
	}

	// Read NAMES back from the volume: {name: Buffer}.  A member jobcell
	// refused (a symlink out, a device) or an [output] limit passed is a
	// JobcellError with jobcell's line and warnings; a name that is not a
	// regular file in the volume is an Error naming it.
	async readFiles(names) {
		if (this.volumeName === null)
			throw new Error('jobcell volume: readFiles before initialize');
		names.forEach((n) => checkName(n, true));
		const bases = names.map((n) => posix.basename(n));
		if (new Set(bases).size !== bases.length)
			throw new TypeError('jobcell volume: readFiles names two files of one base name');
		if (names.length === 0)
			return {};
		return withTempDir(async (dir) => {
			await this.client.volume.get(this.volumeName, names, 'out', { cwd: dir });
			const got = {};
			for (let i = 0; i < names.length; i++)
				got[names[i]] = await readRegular(join(dir, 'out', bases[i]), names[i], this.volumeName);
			return got;
		});
	}

	// The volume's name, or undefined before initialize and after cleanup.
	getVolumeName() {
		return this.volumeName ?? undefined;
	}

	// Remove the volume; again is no error.
	async cleanup() {
		if (this.volumeName === null)
			return;
		const name = this.volumeName;
		await this.client.volume.rm(name);
		this.volumeName = null;
	}
}

// A regular file, never through a symlink at its last component.
async function readRegular(path, name, vol) {
	let fh;
	try {
		fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
	} catch (e) {
		throw new Error(`jobcell volume: ${JSON.stringify(name)} in ${vol}: ${e.code === 'ENOENT' ? 'not in the volume' : e.code === 'ELOOP' ? 'a symlink' : e.message}`);
	}
	try {
		if (!(await fh.stat()).isFile())
			throw new Error(`jobcell volume: ${JSON.stringify(name)} in ${vol}: not a regular file`);
		return await fh.readFile();
	} finally {
		await fh.close();
	}
}

// jobcell for Node: a client over the CLI's --json records, and two
// adapters shaped like a workflow worker's (ShipSec Studio's docker runner
// and IsolatedContainerVolume).  No dependencies, no shell anywhere.
export { Jobcell, JobcellError } from './lib/client.js';
export { runComponent, parseOutput, UnsupportedConfigError } from './lib/runner.js';
export { IsolatedVolume } from './lib/volume.js';

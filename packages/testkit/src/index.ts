export { type BackendProcess, startBackendProcess } from './backend-process.js';
export { type BackpressureResult, type DirectionResult, runBackpressure } from './backpressure-run.js';
export { CLI_PATH, ensureBuilt, REPO_ROOT } from './built-cli.js';
export { startEtcd, type TestEtcd } from './etcd.js';
export {
  type Anomaly,
  type FaultBackend,
  type FaultBackendOptions,
  type FaultMode,
  PROBE_PATH,
  type RawAnswer,
  type ReceivedRequest,
  startFaultBackend,
} from './fault-backend.js';
export {
  type BackendEcho,
  type BackendMode,
  type SeenRequest,
  startBackend,
  type TestBackend,
  type TestBackendOptions,
} from './http-backend.js';
export type { WireRequest } from './http1-wire.js';
export { type Load, type LoadCounts, type LoadOptions, type LoadRecord, percentile, startLoad } from './load.js';
export { type LoopbackBackend, stopAll } from './loopback-backend.js';
export {
  close,
  deadAddress,
  type EndingsServer,
  freePort,
  hostPort,
  listen,
  startEndingsServer,
} from './net.js';
export {
  downloadPaced,
  type PacedBackend,
  type PacedRead,
  patternLength,
  readPaced,
  startPacedBackend,
  uploadPattern,
  writePattern,
} from './paced-stream.js';
export { type CertKey, generateTestPki, type TestPki, type TestPkiOptions } from './pki.js';
export {
  type CliRun,
  probe,
  runCli,
  type ServeOptions,
  type ServeProcess,
  startServe,
  tempDir,
} from './serve-process.js';
export { sleep, waitFor } from './wait.js';

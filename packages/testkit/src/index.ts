export { startEtcd, type TestEtcd } from './etcd.js';
export { close, type EndingsServer, listen, startEndingsServer } from './net.js';
export { type CertKey, generateTestPki, type TestPki, type TestPkiOptions } from './pki.js';

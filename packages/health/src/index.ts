export type { CheckResult, HealthCheck } from './check.js';
export { type Discovery, staticDiscovery } from './discovery.js';
export { DNS_DISCOVERY_DEFAULTS, type DnsDiscoveryOptions, dnsDiscovery } from './dns-discovery.js';
export { ETCD_DISCOVERY_DEFAULTS, type EtcdDiscoveryOptions, etcdDiscovery } from './etcd-discovery.js';
export { FILE_DISCOVERY_DEFAULTS, type FileDiscoveryOptions, fileDiscovery } from './file-discovery.js';
export { GRPC_CHECK_DEFAULTS, type GrpcCheckOptions, grpcCheck } from './grpc-check.js';
export {
  type BackendHealth,
  createHealthMonitor,
  HEALTH_MONITOR_DEFAULTS,
  type HealthChange,
  type HealthMonitor,
  type HealthMonitorOptions,
  type HealthMonitorSettings,
} from './health-monitor.js';
export {
  HTTP_CHECK_DEFAULTS,
  type HttpCheckOptions,
  type HttpCheckResponse,
  type HttpCheckValidator,
  httpCheck,
} from './http-check.js';
export {
  createOutlierDetector,
  OUTLIER_DETECTOR_DEFAULTS,
  type OutlierDetector,
  type OutlierDetectorOptions,
  type OutlierOutcome,
} from './outlier-detector.js';
export { TCP_CHECK_DEFAULTS, type TcpCheckOptions, tcpCheck } from './tcp-check.js';

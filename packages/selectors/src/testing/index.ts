export {
  arbBackend,
  arbBackends,
  arbKey,
  type BackendConstraints,
  type BackendsConstraints,
  type WeightConstraints,
} from './arbitraries.js';
export {
  type BalanceOptions,
  type BalanceReport,
  balanceTolerance,
  checkBalance,
  type ToleranceInputs,
} from './balance.js';
export { checkFailoverSpread, type FailoverSpreadOptions, type FailoverSpreadReport } from './failover-spread.js';
export {
  checkMinimalDisruption,
  checkSelectorLaws,
  type DisruptionOptions,
  type SelectorLaw,
  type SelectorLawOptions,
} from './laws.js';
export { checkPriorityShares, type PriorityLawOptions, type PriorityShares } from './priority.js';
export { type CommonLawOptions, DEFAULT_SEED, type LawReport } from './run.js';

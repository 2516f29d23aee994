import { memoryAdapter } from '../../src/index.js';
import { describeAdapterConformance, describeNegativeControl } from '../conformance/adapter-conformance.js';
import { describeBatchInputChecks } from '../conformance/batch-input.js';

describeAdapterConformance('memory', { create: (clock) => memoryAdapter({ now: clock.now }) });
describeNegativeControl('memory', () => memoryAdapter());
describeBatchInputChecks('memory', () => memoryAdapter());

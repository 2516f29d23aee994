import { memoryAdapter } from '../../adapters/memory/index.js';
import { describeAdapterConformance } from '../../src/storage/conformance/index.js';

describeAdapterConformance('memory', { create: (clock) => memoryAdapter({ now: clock.now }) });

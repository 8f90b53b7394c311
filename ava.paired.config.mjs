// The live test files that may run two at a time (test/suites.mjs says which, and why).
import base from './ava.config.mjs';
import { PAIRED } from './test/suites.mjs';

export default { ...base, files: PAIRED, concurrency: 2 };

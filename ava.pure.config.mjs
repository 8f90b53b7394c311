// The pure and quiet test files (test/suites.mjs), as many at once as the machine has cores.
import { availableParallelism } from 'node:os';
import base from './ava.config.mjs';
import { NOT_PURE, PURE, QUIET } from './test/suites.mjs';

export default { ...base, files: [...PURE, ...NOT_PURE.map((file) => `!${file}`), ...QUIET], concurrency: availableParallelism() };

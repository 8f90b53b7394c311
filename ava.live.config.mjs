// Every other test file, one at a time (ava.config.mjs says why).
import base from './ava.config.mjs';
import { NOT_PURE, PURE } from './test/suites.mjs';

export default { ...base, files: [...base.files, ...PURE.map((glob) => `!${glob}`), ...NOT_PURE] };

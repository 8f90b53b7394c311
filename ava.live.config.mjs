// Every other test file, one at a time (ava.config.mjs says why).
import base from './ava.config.mjs';
import { NOT_PURE, PAIRED, PURE, QUIET } from './test/suites.mjs';

const elsewhere = [...PURE, ...QUIET, ...PAIRED];
export default { ...base, files: [...base.files, ...elsewhere.map((glob) => `!${glob}`), ...NOT_PURE] };

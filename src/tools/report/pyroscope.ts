// `memtrace report --push URL --app NAME [--label k=v]…`: sends a stack profile, as pprof, to a
// Pyroscope server's ingest API, so that a trace taken on one machine shows up in the fleet's
// profiling UI next to the continuous profiles.
//
// Reference: Pyroscope's docs/sources/configure-server/about-server-api.md ("Ingestion", "pprof
// format", "Sample Type Configuration"). POST {URL}/ingest with the metadata as query parameters:
//   name    APP{key=value,…}; for pprof it is a prefix, the sample type is appended (APP.inuse_space)
//   from, until   UNIX seconds of the profile's start and end (both required)
//   format  pprof
//   spyName memtrace (free text: who sent it)
// units, aggregationType and sampleRate are ignored for pprof, so they are not sent: the body is
// multipart/form-data with the gzip pprof in the file field `profile` and, in `sample_type_config`,
// each sample type's units, aggregation (sum, or average for what is held at one moment) and
// `sampled: false` (every call was counted; there is no sampling rate to scale by).
//
// The app name and labels reach another system's query language, so they are checked against the
// grammar both Pyroscope generations accept (the older FlameQL, the newer Prometheus-style labels).
import { MemtraceError, UsageError } from '../../errors.js';
import { validateInteger } from '../../probes/validate.js';

export interface PyroscopePush {
  /** The ingest endpoint: the server's URL with /ingest appended (unless it ends in /ingest). */
  endpoint: URL;
  app: string;
  /** In the order given, keys unique. */
  labels: Array<[string, string]>;
  timeoutMs: number;
}

/** One sample type of the profile as Pyroscope should show it. */
export interface PyroscopeSampleType {
  /** The pprof sample type name (alloc_space…). */
  name: string;
  units: 'samples' | 'objects' | 'bytes';
  aggregation: 'sum' | 'average';
}

const APP_NAME = /^[A-Za-z0-9_.-]{1,200}$/;
const LABEL_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,99}$/;
const LABEL_VALUE = /^[A-Za-z0-9_.:/@+-]{1,200}$/;

/** --push, --app, --label and --push-timeout checked together; null when --push was not given. */
export function parsePushOptions(options: {
  url: string | null;
  app: string | null;
  labels: string[];
  timeout: string | null;
}): PyroscopePush | null {
  if (options.url === null) {
    const stray =
      options.app !== null ? '--app' : options.labels.length > 0 ? '--label' : options.timeout !== null ? '--push-timeout' : null;
    if (stray !== null) throw new UsageError(`${stray} goes with --push URL`);
    return null;
  }
  if (options.app === null) throw new UsageError('--push needs --app NAME: the application name the profile is filed under in Pyroscope');
  if (!APP_NAME.test(options.app))
    throw new UsageError(`--app: expected letters, digits, "_", "." and "-" (at most 200), got ${JSON.stringify(options.app)}`);
  const labels: Array<[string, string]> = [];
  for (const text of options.labels) {
    const equals = text.indexOf('=');
    const key = equals === -1 ? text : text.slice(0, equals);
    const value = equals === -1 ? '' : text.slice(equals + 1);
    if (equals === -1 || !LABEL_KEY.test(key) || !LABEL_VALUE.test(value)) {
      throw new UsageError(
        `--label: expected KEY=VALUE, KEY a letter or "_" then letters, digits and "_", VALUE letters, digits and _ . : / @ + -; got ${JSON.stringify(text)}`,
      );
    }
    if (key.startsWith('__')) throw new UsageError(`--label ${key}: keys starting with "__" are reserved by Pyroscope`);
    if (labels.some(([seen]) => seen === key)) throw new UsageError(`--label ${key}: given twice`);
    labels.push([key, value]);
  }
  const timeoutMs = options.timeout === null ? 30_000 : validateInteger('--push-timeout', options.timeout, 1, 600) * 1000;
  return { endpoint: ingestEndpoint(options.url), app: options.app, labels, timeoutMs };
}

function ingestEndpoint(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--push: not a URL: ${JSON.stringify(text)} (expected http://HOST:PORT, e.g. http://127.0.0.1:4040)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`--push: expected an http:// or https:// URL, got ${url.protocol}`);
  if (url.username !== '' || url.password !== '')
    throw new UsageError('--push: credentials in the URL are not sent; put an authenticating proxy in front of Pyroscope');
  if (url.search !== '' || url.hash !== '')
    throw new UsageError('--push: the URL takes no query or fragment; memtrace sets the ingest parameters');
  if (!url.pathname.endsWith('/ingest')) url.pathname = `${url.pathname.replace(/\/+$/, '')}/ingest`;
  return url;
}

/** The ingest URL of one profile: the endpoint with name, from, until, format and spyName. */
export function ingestUrl(push: PyroscopePush, window: { from: Date; until: Date }): URL {
  const url = new URL(push.endpoint);
  const from = Math.floor(window.from.getTime() / 1000);
  // until must not precede from; a trace shorter than a second still spans one.
  const until = Math.max(from + 1, Math.ceil(window.until.getTime() / 1000));
  url.searchParams.set('name', `${push.app}{${push.labels.map(([key, value]) => `${key}=${value}`).join(',')}}`);
  url.searchParams.set('from', String(from));
  url.searchParams.set('until', String(until));
  url.searchParams.set('format', 'pprof');
  url.searchParams.set('spyName', 'memtrace');
  return url;
}

/** Pyroscope's sample type configuration (JSON) for the types of the profile. */
export function sampleTypeConfig(types: PyroscopeSampleType[]): string {
  const config: Record<string, { units: string; aggregation: string; 'display-name': string; sampled: boolean }> = {};
  for (const type of types)
    config[type.name] = { units: type.units, aggregation: type.aggregation, 'display-name': type.name, sampled: false };
  return JSON.stringify(config);
}

/** Sends one gzip pprof; a refused connection, a non-2xx answer and a timeout are errors that say so. */
export async function pushToPyroscope(
  push: PyroscopePush,
  profile: { pprof: Buffer; types: PyroscopeSampleType[]; from: Date; until: Date },
): Promise<URL> {
  const url = ingestUrl(push, profile);
  const form = new FormData();
  form.append('profile', new Blob([new Uint8Array(profile.pprof)], { type: 'application/octet-stream' }), 'profile.pb.gz');
  form.append('sample_type_config', new Blob([sampleTypeConfig(profile.types)], { type: 'application/json' }), 'sample_type_config.json');
  const where = `${push.endpoint.origin}${push.endpoint.pathname}`;
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', body: form, signal: AbortSignal.timeout(push.timeoutMs) });
  } catch (error) {
    throw new MemtraceError(`--push: ${where}: ${failureReason(error, push.timeoutMs)}`, { cause: error });
  }
  if (!response.ok) {
    const text = (await response.text().catch(() => '')).replace(/\s+/g, ' ').trim().slice(0, 200);
    throw new MemtraceError(`--push: ${where} answered ${response.status} ${response.statusText}${text === '' ? '' : `: ${text}`}`);
  }
  await response.arrayBuffer();
  return url;
}

function failureReason(error: unknown, timeoutMs: number): string {
  const name = (error as { name?: string }).name;
  if (name === 'TimeoutError' || name === 'AbortError') return `no answer within ${timeoutMs / 1000} s (--push-timeout)`;
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code === 'ECONNREFUSED') return 'connection refused: is Pyroscope listening there?';
  if (cause?.code === 'ENOTFOUND' || cause?.code === 'EAI_AGAIN') return 'unknown host';
  return cause?.message ?? (error instanceof Error ? error.message : String(error));
}

// The --value option of faults reports, shared by `memtrace-bpf faults` and `memtrace report`.
import { UsageError } from '../../errors.js';
import { FAULTS_VALUE_TYPES, type FaultsValueName } from '../../model/faults-profile.js';

/** The --value of faults reports (default residentBytes). */
export function parseFaultsValue(text: string | null): FaultsValueName {
  const value = text ?? 'residentBytes';
  if (!FAULTS_VALUE_TYPES.some((type) => type.name === value)) {
    throw new UsageError(`--value: expected one of ${FAULTS_VALUE_TYPES.map((type) => type.name).join(', ')}, got "${value}"`);
  }
  return value as FaultsValueName;
}

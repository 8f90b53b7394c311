// Whether a path exists or can be run, without throwing: what the tracer finders and the
// mount checks ask before they act.
import { access, constants } from 'node:fs/promises';

export async function exists(path: string): Promise<boolean> {
  return access(path, constants.F_OK).then(
    () => true,
    () => false,
  );
}

export async function isExecutable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}

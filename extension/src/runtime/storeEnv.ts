/**
 * The tracking store the editor's runtime uses: the `cairn.store.url` setting, passed to the runtime process as
 * CAIRN_STORE_URL, with the password from SecretStorage as PGPASSWORD (pg reads it; never in the URL, a file or a
 * log line). Empty setting: the runtime reads .cairn/config.yaml or uses the embedded SQLite store.
 */

/** The SecretStorage key of a store's password: one per server, database and user (not per workspace). */
export function storePasswordKey(url: string): string {
  return `cairn.store.password:${withoutPassword(url)}`;
}

/** The URL without any password in it (the setting should not carry one; if it does, it is not kept there). */
export function withoutPassword(url: string): string {
  try {
    const u = new URL(url);
    u.password = '';
    return u.toString();
  } catch {
    return url;
  }
}

/** The environment of the runtime process: the base, the workspace, and the store when one is configured. */
export function runtimeEnv(
  base: NodeJS.ProcessEnv,
  workspace: string,
  url: string,
  password: string | undefined,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, CAIRN_WORKSPACE: workspace };
  const trimmed = url.trim();
  if (trimmed === '') return env;
  env.CAIRN_STORE_URL = withoutPassword(trimmed);
  if (password !== undefined && password !== '') env.PGPASSWORD = password;
  return env;
}

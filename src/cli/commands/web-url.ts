// `vaultrunner web-url`: the web view's address with its access token, as the start-up banner
// printed it.
import { join } from 'node:path';
import { VaultrunnerError } from '../../errors.js';
import { readJson } from '../../vault/json-file.js';
import { vaultPaths } from '../../vault/layout.js';
import { readWebToken } from '../../web/access-token.js';
import { WEB_STATE_FILE } from '../../web/start-web.js';
import type { Command } from '../command.js';
import { configFor } from '../load-config.js';

export const webUrlCommand: Command = {
  name: 'web-url',
  summary: "print the web view's address with its access token",
  usage: 'web-url',
  help: [
    'Prints http://<host>:<port>/?token=<token> for the running service (started with --web or WEB_PORT).',
    'Opening it signs the browser in (an HttpOnly cookie) and removes the token from the address bar.',
    'The token lives in <vault>/.vaultrunner/web-token (mode 0600); delete that file and restart to change it.',
  ].join('\n'),
  options: {},
  async run(ctx) {
    const paths = vaultPaths(configFor(ctx).vaultDir);
    const state = await readJson<{ url?: unknown; pid?: unknown }>(join(paths.state, WEB_STATE_FILE)).catch(() => undefined);
    // A service killed outright leaves web.json behind: its pid tells.
    if (typeof state?.url !== 'string' || (typeof state.pid === 'number' && !alive(state.pid))) {
      throw new VaultrunnerError('VAULT_MISSING', `the web view is not running for ${paths.root}; start the service with 'vaultrunner start --web [port]' or WEB_PORT`);
    }
    const token = await readWebToken(paths.state);
    ctx.io.stdout.write(`${state.url}/?token=${token}\n`);
    return 0;
  },
};

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

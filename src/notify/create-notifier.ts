// The notifier the service runs, from the operator's config: the webhook when NOTIFY_URL is set,
// nothing otherwise. Links point at the web view's task page when it runs.
import type { Logger } from 'pino';
import { noopNotifier, type Notifier } from './notifier.js';
import { createWebhookNotifier } from './webhook.js';

/** The operator's notification settings (read with the web settings, web/web-config.ts). */
export interface NotifySettings {
  notifyUrl?: string;
  notifyFormat: Parameters<typeof createWebhookNotifier>[0]['format'];
  notifyOn: Parameters<typeof createWebhookNotifier>[0]['on'];
  publicUrl?: string;
}

export function notifierFromConfig(web: NotifySettings, opts: { logger: Logger; webUrl?: () => string | undefined }): Notifier {
  if (!web.notifyUrl) return noopNotifier;
  return createWebhookNotifier({
    url: web.notifyUrl,
    format: web.notifyFormat,
    on: web.notifyOn,
    logger: opts.logger,
    linkFor: (task) => {
      const base = web.publicUrl ?? opts.webUrl?.();
      return base ? `${base}/task/${encodeURIComponent(task)}` : undefined;
    },
  });
}

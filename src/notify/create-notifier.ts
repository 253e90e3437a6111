// The notifier the service runs, from the operator's config: the webhook when NOTIFY_URL is set,
// nothing otherwise. Links point at the web view's task page when it runs.
import type { Logger } from 'pino';
import type { WebConfig } from '../config/web-config.js';
import { noopNotifier, type Notifier } from './notifier.js';
import { createWebhookNotifier } from './webhook.js';

export function notifierFromConfig(web: WebConfig, opts: { logger: Logger; webUrl?: () => string | undefined }): Notifier {
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

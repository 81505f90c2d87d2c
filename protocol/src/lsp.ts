import { z } from 'zod';

/**
 * Everything the extension and the Cairn language server say to each other beyond standard LSP: the settings the
 * server reads and the custom `cairn/*` messages. Each side builds its own typed `NotificationType` from `method`
 * (client and server ship different vscode-jsonrpc majors), and validates params with `params` on arrival.
 */

/** The `cairn.*` settings the language server honours (package.json `contributes.configuration`). */
export const languageServerSettingsSchema = z.object({
  validation: z
    .object({
      /** Delay after an edit before a document is validated again; 0 validates on the next tick (tests). */
      debounceMs: z.number().int().min(0).max(60_000).default(150),
    })
    .prefault({}),
});
export type LanguageServerSettings = z.infer<typeof languageServerSettingsSchema>;

export const defaultLanguageServerSettings: LanguageServerSettings = languageServerSettingsSchema.parse({});

/** `initializationOptions` of the LSP `initialize` request, sent by the extension (or a test client). */
export const languageServerInitOptionsSchema = z.object({
  /** The `cairn` settings section as the client sees it at start; later changes arrive by didChangeConfiguration. */
  settings: z.unknown().optional(),
});
export type LanguageServerInitOptions = z.infer<typeof languageServerInitOptionsSchema>;

/** Reads the `cairn` settings section leniently: a bad value falls back to its default instead of failing. */
export function parseLanguageServerSettings(raw: unknown): LanguageServerSettings {
  const parsed = languageServerSettingsSchema.safeParse(raw ?? {});
  if (parsed.success) return parsed.data;
  const debounce = z
    .number()
    .int()
    .min(0)
    .max(60_000)
    .safeParse((raw as { validation?: { debounceMs?: unknown } } | null)?.validation?.debounceMs);
  return {
    validation: { debounceMs: debounce.success ? debounce.data : defaultLanguageServerSettings.validation.debounceMs },
  };
}

/** The settings section name the server asks the client for (`workspace/configuration`). */
export const languageServerSettingsSection = 'cairn';

/**
 * Sent by the extension to the language server when the runtime reports the metrics tracked for a registered model, so
 * model-card checks can compare the card's numbers with real ones (the server never opens the database).
 */
export const trackedMetricsParamsSchema = z.object({
  model: z.string().min(1),
  /** Metric name → latest value; an empty object forgets the model. */
  metrics: z.record(z.string(), z.number().refine(Number.isFinite, 'metric values must be finite numbers')),
});
export type TrackedMetricsParams = z.infer<typeof trackedMetricsParamsSchema>;
export const TrackedMetricsNotification = {
  method: 'cairn/trackedMetrics',
  params: trackedMetricsParamsSchema,
} as const;

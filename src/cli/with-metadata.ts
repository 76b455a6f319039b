import { loadConfig } from '../config.js';
import type { Tokens } from '../core/tokens.js';
import type { MetadataStore } from '../metadata/store.js';

/** Opens the metadata store the settings name, hands it to `work` with its tokens, and closes it. */
export async function withMetadata<T>(flags: { dataDir?: string; databaseUrl?: string }, work: (metadata: MetadataStore, tokens: Tokens) => Promise<T>): Promise<T> {
  const config = loadConfig({ dataDir: flags.dataDir, databaseUrl: flags.databaseUrl });
  const [{ openMetadata }, { Tokens }] = await Promise.all([import('../stores/open.js'), import('../core/tokens.js')]);
  const metadata = await openMetadata(config);
  try {
    return await work(metadata, new Tokens(metadata));
  } finally {
    await metadata.close();
  }
}

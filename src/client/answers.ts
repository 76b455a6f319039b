/**
 * Reading the server's answers and waiting between attempts, shared by the Node client and the web
 * uploader (no imports, no I/O).
 */

/** The body as JSON, or undefined if it is empty or not JSON. */
export function parseJson(text: string): any {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A refusal's Box fields: from Box's ClientError body, or `http_<status>` and the text when it is not one. */
export function boxErrorFields(status: number, json: any, text: string) {
  const isBox = typeof json === 'object' && json !== null && typeof json.code === 'string';
  return {
    code: isBox ? String(json.code) : `http_${status}`,
    message: isBox ? String(json.message ?? '') : text.slice(0, 200),
    requestId: isBox && typeof json.request_id === 'string' ? json.request_id as string : undefined,
    contextInfo: isBox && typeof json.context_info === 'object' && json.context_info !== null
      ? json.context_info as Record<string, unknown> : undefined,
  };
}

/** Waits, or rejects with `aborted()` as soon as the signal fires. */
export function sleep(ms: number, signal: AbortSignal | undefined, aborted: () => Error): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(aborted());
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(aborted());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

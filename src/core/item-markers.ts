import type { ChildOrder, ChildPosition, ItemRecord } from './model.js';
import { BoxError } from './errors.js';
import { nameKey } from './names.js';

/**
 * Box's marker paging over a folder's items. A marker names the sort keys of the last item of the
 * page before (opaque to clients, base64url JSON), so the next page starts after it even if items
 * were added or removed meanwhile; offsets would skip or repeat items then.
 */
export function markerAfter(item: ItemRecord, order: ChildOrder): string {
  const position: ChildPosition = { type: item.type, value: sortValue(item, order), id: item.id };
  return Buffer.from(JSON.stringify([position.type, position.value, position.id])).toString('base64url');
}

export function positionOf(marker: string, order: ChildOrder): ChildPosition {
  const invalid = () => new BoxError('invalid_parameter', 'The marker is not one this server gave out');
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(marker, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(decoded) || decoded.length !== 3) throw invalid();
  const [type, value, id] = decoded as unknown[];
  const valueFits = order.by === 'name' ? typeof value === 'string' : Number.isSafeInteger(value);
  if ((type !== 'file' && type !== 'folder') || !valueFits || typeof id !== 'string' || !/^[0-9]{1,19}$/.test(id)) {
    throw invalid();
  }
  return { type, value: value as string | number, id };
}

function sortValue(item: ItemRecord, order: ChildOrder): string | number {
  switch (order.by) {
    case 'name': return nameKey(item.name);
    case 'id': return Number(item.id);
    case 'date': return item.modifiedAt;
    case 'size': return item.type === 'file' ? item.size : 0;
  }
}

import type { ChildrenQuery } from '../core/model.js';

const SORT_COLUMNS = { name: 'items.name_key', id: 'items.id', date: 'items.modified_at', size: 'items.size' } as const;

/**
 * The ORDER BY and keyset condition of `listChildrenOrdered`, for both SQL dialects: `param` adds a
 * value and returns its placeholder, `collate` makes name order byte order (PostgreSQL's default
 * collation would not match SQLite's). Folders come first ('folder' > 'file'), so "after" in type
 * order means a smaller type.
 */
export function childOrderSql(query: ChildrenQuery, param: (value: unknown) => string, collate = '') {
  const { by, direction } = query.order;
  const column = by === 'name' ? `${SORT_COLUMNS.name}${collate}` : SORT_COLUMNS[by];
  const later = direction === 'ASC' ? '>' : '<';
  let where = '';
  if (query.after) {
    const { type, value, id } = query.after;
    where = ` AND (items.type < ${param(type)} OR (items.type = ${param(type)} AND (${column} ${later} ${param(value)}`
      + ` OR (${column} = ${param(value)} AND items.id ${later} ${param(id)}))))`;
  }
  return { where, orderBy: `items.type DESC, ${column} ${direction}, items.id ${direction}` };
}

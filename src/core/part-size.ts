export interface PartSizePolicy {
  /** The smallest part size handed out (Box: 8 MiB). */
  basePartSize: number;
  /** Parts a session may have at most (Box: 10,000); the part size doubles until the file fits. */
  maxParts: number;
}

export const BOX_PART_SIZE_POLICY: PartSizePolicy = { basePartSize: 8 * 1024 * 1024, maxParts: 10_000 };

/** The part size for a file: the base size, doubled until the file needs at most `maxParts` parts. */
export function choosePartSize(fileSize: number, policy: PartSizePolicy): number {
  let partSize = policy.basePartSize;
  while (Math.ceil(fileSize / partSize) > policy.maxParts) partSize *= 2;
  return partSize;
}

export function totalParts(fileSize: number, partSize: number): number {
  return Math.ceil(fileSize / partSize);
}

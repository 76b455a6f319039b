/**
 * The Box shapes both clients read (a subset; extra fields are ignored). Pure types with no imports,
 * shared by the Node client and the web uploader.
 */

export interface UploadSession {
  id: string;
  part_size: number;
  total_parts: number;
  num_parts_processed: number;
  session_expires_at: string;
  session_endpoints: { upload_part: string; commit: string; list_parts: string; abort: string; status: string };
}

export interface UploadedPart {
  part_id: string;
  offset: number;
  size: number;
  sha1: string;
}

export interface BoxFile {
  type: 'file';
  id: string;
  name: string;
  size: number;
  sha1: string;
  etag: string;
  modified_at?: string;
  parent?: { id: string; name?: string } | null;
  file_version?: { id: string };
}

export interface BoxFolder {
  type: 'folder';
  id: string;
  name: string;
  modified_at?: string;
}

export type BoxItem = BoxFile | BoxFolder;

export interface BoxUser {
  type: 'user';
  id: string;
  name: string;
  login: string;
}


/** A folder as `GET /folders/{id}` gives it: with the path from the root. */
export interface BoxFolderDetails extends BoxFolder {
  path_collection: { total_count: number; entries: BoxFolder[] };
}

export {
  RecordStore,
  RecordCollection,
  RECORD_FORMAT_VERSION,
  type RecordStoreOptions,
  type RecordWriteOptions,
  type StoredRecord,
} from './record-store.js';

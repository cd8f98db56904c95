//! One [`Engine`](crate::engine::Engine) adapter per database the harness compares: emdb and its
//! peers. Peers live only in this package.

pub mod emdb;
pub mod emdb_plain;
pub mod fjall;
pub mod heed;
pub mod redb;
#[cfg(feature = "rocksdb")]
pub mod rocksdb;
pub mod sled;

/// The cache each engine that has a configurable one is given (redb, sled, fjall,
/// `RocksDB`).
/// LMDB and emdb read through the operating system's page cache.
pub const CACHE_BYTES: usize = 1 << 30;

#[cfg(test)]
mod tests {
    //! Every adapter gives the same answers on the same small workload, so that a difference in
    //! the harness's numbers is the engines', not the adapters'.

    use super::*;
    use crate::Records;
    use crate::engine::{Compaction, Durability, Engine, OpenError, Reader};

    const RECORDS: u64 = 150;

    /// Writes, reads, scans, removes, compacts and (if `reopen`) reopens, checking every answer.
    fn exercise<E: Engine>(mut engine: E, dir: &std::path::Path, reopen: bool) {
        let records = Records::new(24, 150, 7);
        engine.prepare(Durability::Durable).unwrap();
        engine.write(&records, 0..100, Durability::Durable).unwrap();
        engine.prepare(Durability::NonDurable).unwrap();
        for i in 100..RECORDS {
            engine.write(&records, i..i + 1, Durability::NonDurable).unwrap();
        }
        engine.prepare(Durability::Durable).unwrap();

        let mut reader = engine.reader().unwrap();
        assert_eq!(reader.len().unwrap(), RECORDS, "{}", E::NAME);
        let mut value = Vec::new();
        for i in 0..RECORDS {
            assert!(reader.get(&records.key(i), &mut value).unwrap(), "{} record {i}", E::NAME);
            assert_eq!(value, records.value(i), "{} record {i}", E::NAME);
        }
        assert!(!reader.get(&records.key(RECORDS), &mut value).unwrap(), "{}", E::NAME);

        let mut sorted: Vec<Vec<u8>> = (0..RECORDS).map(|i| records.key(i)).collect();
        sorted.sort();
        let mut seen = Vec::new();
        let n = reader.scan(&sorted[10], 5, &mut |k, _| seen.push(k.to_vec())).unwrap();
        assert_eq!((n, seen.as_slice()), (5, &sorted[10..15]), "{}", E::NAME);
        let last = sorted.len() - 2;
        let n = reader.scan(&sorted[last], 5, &mut |_, _| {}).unwrap();
        assert_eq!(n, 2, "{}: a scan stops at the last key", E::NAME);
        drop(reader);

        // A put replaces a value; a read-modify-write sees the old value and writes the new one,
        // and writes nothing for a missing key; `Engine::get` sees both.
        engine.put(&records.key(60), b"put", Durability::NonDurable).unwrap();
        assert!(engine.get(&records.key(60), &mut value).unwrap(), "{}", E::NAME);
        assert_eq!(value, b"put", "{}", E::NAME);
        let mut append = |old: &[u8], new: &mut Vec<u8>| {
            new.extend_from_slice(old);
            new.push(b'!');
        };
        let found = engine.read_modify_write(&records.key(60), Durability::NonDurable, &mut append);
        assert!(found.unwrap(), "{}", E::NAME);
        let missing =
            engine.read_modify_write(&records.key(RECORDS), Durability::NonDurable, &mut append);
        assert!(!missing.unwrap(), "{}", E::NAME);
        assert!(!engine.get(&records.key(RECORDS), &mut value).unwrap(), "{}", E::NAME);
        assert!(engine.get(&records.key(60), &mut value).unwrap(), "{}", E::NAME);
        assert_eq!(value, b"put!", "{}", E::NAME);

        engine.remove(&records, 0..50, Durability::Durable).unwrap();
        let mut reader = engine.reader().unwrap();
        assert_eq!(reader.len().unwrap(), RECORDS - 50, "{}", E::NAME);
        assert!(!reader.get(&records.key(0), &mut value).unwrap(), "{}", E::NAME);
        assert!(reader.get(&records.key(50), &mut value).unwrap(), "{}", E::NAME);
        drop(reader);

        if reopen {
            let compaction = engine.compact().unwrap();
            assert!(matches!(compaction, Compaction::Done | Compaction::Unsupported(_)));
            assert_eq!(engine.reader().unwrap().len().unwrap(), RECORDS - 50, "{}", E::NAME);
            engine.close().unwrap();
            let engine = E::open(dir).unwrap_or_else(|e| panic!("{}: reopen: {e}", E::NAME));
            assert_eq!(engine.reader().unwrap().len().unwrap(), RECORDS - 50, "{}", E::NAME);
            engine.close().unwrap();
        }
    }

    fn exercise_on_disk<E: Engine>() {
        let dir = tempfile::tempdir().unwrap();
        let engine = E::open(dir.path()).unwrap_or_else(|e| panic!("{}: {e}", E::NAME));
        exercise(engine, dir.path(), true);
    }

    #[test]
    fn the_emdb_adapter_answers_like_the_others() {
        let dir = tempfile::tempdir().unwrap();
        match emdb::EmdbEngine::open(dir.path()) {
            Ok(engine) => exercise(engine, dir.path(), true),
            // Until the persistent engine lands, check the adapter on an in-memory database.
            Err(OpenError::Unavailable(_)) => {
                exercise(emdb::EmdbEngine::in_memory(), dir.path(), false);
            }
            Err(error) => panic!("emdb: {error}"),
        }
    }

    #[test]
    fn the_plain_emdb_adapter_answers_like_the_others() {
        exercise_on_disk::<emdb_plain::EmdbPlainEngine>();
    }

    #[test]
    fn the_redb_adapter_answers_like_the_others() {
        exercise_on_disk::<redb::RedbEngine>();
    }

    #[test]
    fn the_lmdb_adapter_answers_like_the_others() {
        exercise_on_disk::<heed::HeedEngine>();
    }

    #[test]
    fn the_sled_adapter_answers_like_the_others() {
        exercise_on_disk::<sled::SledEngine>();
    }

    #[test]
    fn the_fjall_adapter_answers_like_the_others() {
        exercise_on_disk::<fjall::FjallEngine>();
    }

    #[cfg(feature = "rocksdb")]
    #[test]
    fn the_rocksdb_adapter_answers_like_the_others() {
        exercise_on_disk::<rocksdb::RocksdbEngine>();
    }
}

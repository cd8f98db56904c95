//! Building an index new to an existing table, at open, reports its progress as
//! `Operation::IndexBuild`: from 0 to the table's row count, in order, a bounded number of
//! times, naming the table; `Stats::running` shows the build while it runs and nothing once the table is open.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::sync::{Arc, Mutex};

use emdb::{Emdb, Index, Operation, Progress, Table};

const ROWS: u32 = 2_500;

#[test]
fn an_index_build_over_n_rows_reports_progress_ending_at_n() {
    let seen: Arc<Mutex<Vec<Progress>>> = Arc::default();
    let running: Arc<Mutex<Vec<Option<Progress>>>> = Arc::default();
    // The callback reads the stats of the database it reports for, once it is open.
    let handle: Arc<Mutex<Option<Emdb>>> = Arc::default();
    let (sink, shown, slot) = (Arc::clone(&seen), Arc::clone(&running), Arc::clone(&handle));
    let db = Emdb::builder()
        .on_progress(move |p| {
            sink.lock().unwrap().push(p.clone());
            if let Some(db) = slot.lock().unwrap().as_ref() {
                shown.lock().unwrap().push(db.stats().unwrap().running);
            }
        })
        .build()
        .unwrap();
    *handle.lock().unwrap() = Some(db.clone());

    let words = Table::<u32, String>::open(&db, "words").unwrap();
    for i in 0..ROWS {
        words.insert(&i, &format!("word {i}")).unwrap();
    }
    assert!(seen.lock().unwrap().is_empty(), "a table without indexes builds nothing");

    let by_len = Index::non_unique("len", |w: &String| vec![w.len()]);
    let words = Table::<u32, String>::options("words").index(by_len.clone()).open(&db).unwrap();
    assert_eq!(words.find_by(&by_len, &6).unwrap().count(), 10, "word 0 to word 9");

    let steps: Vec<Progress> = seen.lock().unwrap().clone();
    assert!(steps.iter().all(|p| p.operation == Operation::IndexBuild), "{steps:?}");
    assert!(steps.iter().all(|p| p.table.as_deref() == Some("words")), "{steps:?}");
    assert!(steps.len() >= 2, "{steps:?}");
    assert!(steps.len() <= 1_002, "{} reports", steps.len());
    assert!(steps.iter().all(|p| p.total == u64::from(ROWS)), "the total is the row count");
    assert_eq!(steps.first().unwrap().done, 0, "starts at 0");
    assert_eq!(steps.last().unwrap().done, u64::from(ROWS), "ends at the row count");
    assert!(steps.windows(2).all(|w| w[0].done < w[1].done), "goes backwards");

    // While it ran, the stats showed each report as it was made.
    let running = running.lock().unwrap().clone();
    assert_eq!(running, steps.iter().cloned().map(Some).collect::<Vec<_>>());
    assert_eq!(db.stats().unwrap().running, None, "nothing runs once the table is open");

    // The index is built once: opening the table again with it builds nothing.
    let before = seen.lock().unwrap().len();
    Table::<u32, String>::options("words").index(by_len).open(&db).unwrap();
    assert_eq!(seen.lock().unwrap().len(), before);
    // The callback holds a handle of the database: let it go.
    handle.lock().unwrap().take();
}

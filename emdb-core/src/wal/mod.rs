//! The write-ahead log `<path>.wal`: one checksummed frame per commit, group commit, and
//! recovery that cuts a torn tail and reports damage in the middle.

mod codec;

//! A change feed served from an async web handler: a `users` table over HTTP, and every commit
//! that changes it pushed to the client as a Server-Sent Event.
//!
//! The feed is [`Table::watch`](emdb::Table::watch) used as a [`Stream`]
//! (the cargo feature `stream` of emdb): the handler maps each [`Commit`] to one SSE event and
//! never blocks a runtime thread waiting for the next one. Writes, which may wait for the disk,
//! run on tokio's blocking pool.
//!
//! | route                | what it does |
//! |----------------------|--------------|
//! | `POST /users`        | stores the [`User`] of the JSON body (a new id inserts, a known id updates); 409 if another user has the email |
//! | `DELETE /users/{id}` | removes the user; 404 if there is none |
//! | `GET /users/events`  | the change feed: one `commit` event per commit, a `lagged` event where commits were dropped for a slow client |
//!
//! Try it with `cargo run -p emdb-feed-server` and, in a second terminal, follow the feed:
//!
//! ```sh
//! curl -N http://127.0.0.1:3000/users/events
//! ```
//!
//! then, in a third, change the table and watch the events arrive:
//!
//! ```sh
//! curl -X POST http://127.0.0.1:3000/users -H 'content-type: application/json' \
//!      -d '{"id": 1, "name": "Ada", "email": "ada@example.com"}'
//! curl -X POST http://127.0.0.1:3000/users -H 'content-type: application/json' \
//!      -d '{"id": 1, "name": "Ada Lovelace", "email": "ada@example.com"}'
//! curl -X DELETE http://127.0.0.1:3000/users/1
//! ```
//!
//! The feed prints one event per commit (the lsns depend on the commits before):
//!
//! ```text
//! event: commit
//! data: {"lsn":6,"events":[{"op":"insert","key":1,"value":{"id":1,"name":"Ada","email":"ada@example.com"}}]}
//!
//! event: commit
//! data: {"lsn":7,"events":[{"op":"update","key":1,"old":{"id":1,"name":"Ada",…},"new":{"id":1,"name":"Ada Lovelace",…}}]}
//!
//! event: commit
//! data: {"lsn":8,"events":[{"op":"remove","key":1,"old":{"id":1,"name":"Ada Lovelace",…}}]}
//! ```
//!
//! A second user with the same email is refused with 409 Conflict and puts nothing on the feed.

use std::convert::Infallible;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use emdb::{Commit, Emdb, Error, Record, Table, TableEvent};
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};

/// A row of the `users` table, keyed by `id`, with a unique index on `email`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Record)]
#[emdb(table = "users")]
pub struct User {
    /// The key.
    #[emdb(key)]
    pub id: u64,
    /// The display name.
    pub name: String,
    /// The address; no two users share one.
    #[emdb(index(unique))]
    pub email: String,
}

/// The `users` table, as [`User::table`] opens it.
pub type Users = Table<u64, User, <User as Record>::Codec>;

/// The web application over `db`: the routes of the [module docs](crate).
///
/// # Errors
/// The error of opening the `users` table ([`User::table`]).
pub fn app(db: &Emdb) -> emdb::Result<Router> {
    let users = User::table(db)?;
    Ok(Router::new()
        .route("/users", post(put_user))
        .route("/users/{id}", delete(delete_user))
        .route("/users/events", get(events))
        .with_state(users))
}

/// One commit of the feed, the `data` of a `commit` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedCommit {
    /// The commit's log sequence number, increasing along the feed.
    pub lsn: u64,
    /// The changes the commit made to the table, in order.
    pub events: Vec<FeedEvent>,
}

/// One change to the table, tagged `"op": "insert" | "update" | "remove"` in JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum FeedEvent {
    /// A user was stored under a new id.
    Insert {
        /// The user's id.
        key: u64,
        /// The user stored.
        value: User,
    },
    /// A user was replaced.
    Update {
        /// The user's id.
        key: u64,
        /// The user before the commit.
        old: User,
        /// The user after it.
        new: User,
    },
    /// A user was removed.
    Remove {
        /// The user's id.
        key: u64,
        /// The user removed.
        old: User,
    },
}

impl From<TableEvent<u64, User>> for FeedEvent {
    fn from(event: TableEvent<u64, User>) -> Self {
        match event {
            TableEvent::Insert { key, value } => FeedEvent::Insert { key, value },
            TableEvent::Update { key, old, new } => FeedEvent::Update { key, old, new },
            TableEvent::Remove { key, old } => FeedEvent::Remove { key, old },
        }
    }
}

/// The `data` of a `lagged` event: the feed skipped commits because the client read too slowly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lagged {
    /// How many commits were dropped.
    pub missed: u64,
}

/// The body of a failed request, and the `data` of an `error` event (a commit of the feed that
/// could not be read: its rows did not decode).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedError {
    /// What went wrong.
    pub error: String,
}

/// A failed request as an HTTP response: its status and `{"error": "…"}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl From<Error> for ApiError {
    /// 409 Conflict for a unique violation (another user has the email), 500 otherwise.
    fn from(e: Error) -> Self {
        let status = match e {
            Error::UniqueViolation { .. } => StatusCode::CONFLICT,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError { status, message: e.to_string() }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(FeedError { error: self.message })).into_response()
    }
}

/// Runs `write` on tokio's blocking pool: a commit may wait for the disk, which an async
/// handler must not do on a runtime thread.
async fn blocking<T: Send + 'static>(
    write: impl FnOnce() -> emdb::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    match tokio::task::spawn_blocking(write).await {
        Ok(result) => Ok(result?),
        Err(join) => Err(ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: format!("the write did not finish: {join}"),
        }),
    }
}

/// `POST /users`: stores the user, inserting or replacing it; answers with the user stored.
async fn put_user(
    State(users): State<Users>,
    Json(user): Json<User>,
) -> Result<Json<User>, ApiError> {
    let stored = user.clone();
    blocking(move || users.put(&stored)).await?;
    Ok(Json(user))
}

/// `DELETE /users/{id}`: 204 once removed, 404 if there was no such user.
async fn delete_user(
    State(users): State<Users>,
    Path(id): Path<u64>,
) -> Result<StatusCode, ApiError> {
    let removed = blocking(move || users.remove(&id)).await?;
    Ok(if removed.is_some() { StatusCode::NO_CONTENT } else { StatusCode::NOT_FOUND })
}

/// `GET /users/events`: the change feed, from the commits after the request on.
async fn events(
    State(users): State<Users>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    // The watcher exists once this returns: every commit after the response's headers is sent.
    let feed = users.watch()?;
    // `Watcher` is a `Stream` that ends when the database closes (`Error::WatchClosed`). It is
    // an `Iterator` too, whose blocking `map` the qualified call avoids.
    let stream = StreamExt::map(feed, |item| Ok(sse_event(item)));
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// The SSE event for one item of the watcher: a `commit`, a `lagged` notice (the feed goes on
/// with the next commit), or an `error` for a commit that could not be read.
fn sse_event(item: emdb::Result<Commit<TableEvent<u64, User>>>) -> Event {
    let (name, data) = feed_item(item);
    Event::default().event(name).data(data)
}

/// The name and JSON data of the SSE event for one item of the watcher.
fn feed_item(item: emdb::Result<Commit<TableEvent<u64, User>>>) -> (&'static str, String) {
    let (name, data) = match item {
        Ok(Commit { lsn, events }) => {
            let events = events.into_iter().map(FeedEvent::from).collect();
            ("commit", serde_json::to_string(&FeedCommit { lsn, events }))
        }
        Err(Error::Lagged { missed }) => ("lagged", serde_json::to_string(&Lagged { missed })),
        Err(e) => ("error", serde_json::to_string(&FeedError { error: e.to_string() })),
    };
    match data {
        Ok(data) => (name, data),
        // Serializing these plain structs does not fail; should it, the client still hears.
        Err(e) => ("error", e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lagged_watcher_becomes_a_lagged_event_with_the_missed_count() {
        let (name, data) = feed_item(Err(Error::Lagged { missed: 3 }));
        assert_eq!((name, data.as_str()), ("lagged", r#"{"missed":3}"#));
    }

    #[test]
    fn a_commit_becomes_a_commit_event_with_its_lsn_and_tagged_changes() {
        let user = User { id: 1, name: "Ada".into(), email: "ada@example.com".into() };
        let commit = Commit { lsn: 9, events: vec![TableEvent::Remove { key: 1, old: user }] };
        let (name, data) = feed_item(Ok(commit));
        assert_eq!(name, "commit");
        assert_eq!(
            data,
            r#"{"lsn":9,"events":[{"op":"remove","key":1,"old":{"id":1,"name":"Ada","email":"ada@example.com"}}]}"#
        );
    }

    #[test]
    fn another_watcher_error_becomes_an_error_event() {
        let (name, data) = feed_item(Err(Error::Internal { detail: "x".into() }));
        assert_eq!(name, "error");
        assert!(data.starts_with(r#"{"error":"internal error: x"#), "{data}");
    }
}

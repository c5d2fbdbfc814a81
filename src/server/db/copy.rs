//! `portico db copy`: moves an installation from SQLite to Postgres.
//!
//! Every table the Postgres schema has (accounts, sessions, organisations,
//! keys, the audit trail, usage, alerts, notifications, settings…) is
//! copied, parents before children, in batches, inside one Postgres
//! transaction: a copy that fails leaves the target as empty as it found
//! it. The target must be empty; it is migrated first. Each table ends
//! with its row counts and an order-independent checksum of its rows read
//! back from both sides, so a difference in any value shows.
//!
//! Values are converted by the target column's type: SQLite's integers
//! become booleans or timestamps where Postgres has them, timestamps kept
//! as text are parsed, identity columns keep their ids (and their sequences
//! continue after them). A key's row moves as it is, so a key verifies on
//! the new installation when it runs with the same server secret.

use chrono::{DateTime, NaiveDateTime, Timelike, Utc};
use futures_util::TryStreamExt;
use sha2::{Digest, Sha256};
use sqlx::{
    postgres::PgRow,
    sqlite::{SqliteConnectOptions, SqlitePoolOptions, SqliteRow},
    PgPool, Postgres, Row, SqlitePool, TypeInfo, ValueRef,
};
use std::{collections::BTreeMap, str::FromStr};

/// Rows per `INSERT` at most (and fewer for wide tables: Postgres takes at
/// most 65,535 parameters per statement).
const BATCH_ROWS: usize = 1000;

/// One table's copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCopy {
    /// The table's name.
    pub table: String,
    /// Rows in the source.
    pub source_rows: i64,
    /// Rows in the target after the copy.
    pub target_rows: i64,
    /// Checksum of the source's rows, as converted for the target (hex).
    pub source_checksum: String,
    /// Checksum of the target's rows, read back (hex).
    pub target_checksum: String,
}

impl TableCopy {
    /// Whether the two sides agree.
    pub fn matches(&self) -> bool {
        self.source_rows == self.target_rows && self.source_checksum == self.target_checksum
    }
}

/// What a copy did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyReport {
    /// Each copied table, in the order copied.
    pub tables: Vec<TableCopy>,
    /// Source tables the target has no place for (SQLite's own change log).
    pub skipped: Vec<String>,
    /// Whether the target's audit trail refuses changes (its trigger).
    pub audit_append_only: bool,
}

/// Why a copy did not happen or failed; nothing was written to the target.
#[derive(Debug)]
pub enum CopyError {
    /// The URLs do not name a SQLite source and a Postgres target.
    Usage(String),
    /// The target holds data: `(table, rows)`.
    TargetNotEmpty(Vec<(String, i64)>),
    /// The source is not migrated to this version.
    SourceBehind(String),
    /// A value that cannot be converted to its column's type.
    Value(String),
    /// The database refused something.
    Database(sqlx::Error),
}

impl std::fmt::Display for CopyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CopyError::Usage(m) | CopyError::SourceBehind(m) | CopyError::Value(m) => {
                f.write_str(m)
            }
            CopyError::TargetNotEmpty(tables) => write!(
                f,
                "the target database holds data ({}); db copy fills an empty database only",
                tables
                    .iter()
                    .map(|(t, n)| format!("{t}: {n} row{}", if *n == 1 { "" } else { "s" }))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            CopyError::Database(e) => write!(f, "database error: {e}"),
        }
    }
}

impl From<sqlx::Error> for CopyError {
    fn from(e: sqlx::Error) -> Self {
        CopyError::Database(e)
    }
}

impl From<sqlx::migrate::MigrateError> for CopyError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        CopyError::Usage(format!("cannot migrate the target: {e}"))
    }
}

/// A value on its way between the two databases.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Null,
    Int(i64),
    Real(f64),
    Bool(bool),
    Text(String),
    Bytes(Vec<u8>),
    Time(DateTime<Utc>),
}

impl Value {
    /// The canonical form the checksum hashes.
    fn canonical(&self, out: &mut Vec<u8>) {
        match self {
            Value::Null => out.push(b'N'),
            Value::Int(n) => out.extend(format!("I{n}").as_bytes()),
            Value::Real(x) => out.extend(format!("F{}", x.to_bits()).as_bytes()),
            Value::Bool(b) => out.extend(if *b { b"B1" } else { b"B0" }),
            Value::Text(s) => {
                out.extend(format!("T{}:", s.len()).as_bytes());
                out.extend(s.as_bytes());
            }
            Value::Bytes(b) => {
                out.extend(format!("X{}:", b.len()).as_bytes());
                out.extend(b);
            }
            Value::Time(t) => out.extend(format!("D{}", t.timestamp_micros()).as_bytes()),
        }
        out.push(0x1f);
    }
}

/// A target column: its name and Postgres type (`information_schema`).
#[derive(Debug, Clone)]
struct TargetColumn {
    name: String,
    data_type: String,
}

/// Copies the SQLite database at `from` into the empty Postgres database at
/// `to` (migrated first). `progress(table, rows done, rows in all)` is called
/// after each batch. Errors: [`CopyError`]; nothing is left on the target.
pub async fn copy(
    from: &str,
    to: &str,
    mut progress: impl FnMut(&str, i64, i64),
) -> Result<CopyReport, CopyError> {
    if !from.starts_with("sqlite:")
        || !(to.starts_with("postgres:") || to.starts_with("postgresql:"))
    {
        return Err(CopyError::Usage(
            "db copy moves a SQLite installation to Postgres: --from sqlite://PATH --to postgres://…".to_owned(),
        ));
    }
    let source = SqlitePoolOptions::new()
        .max_connections(2)
        .connect_with(SqliteConnectOptions::from_str(from)?.create_if_missing(false))
        .await
        .map_err(|e| CopyError::Usage(format!("cannot open the source {from}: {e}")))?;
    check_source_migrated(&source).await?;
    let target = super::Db::connect(to)
        .await
        .map_err(|e| CopyError::Usage(format!("cannot connect to the target: {e}")))?;
    let super::Db::Postgres(pool) = &target else {
        unreachable!("a postgres:// URL connects to Postgres")
    };
    // Refused before anything is written: a database given by mistake
    // (another application's, or an older installation) stays as it was.
    let existing = target_tables(pool).await?;
    let occupied = row_counts_pg(pool, &existing).await?;
    let occupied: Vec<(String, i64)> = occupied.into_iter().filter(|(_, n)| *n > 0).collect();
    if !occupied.is_empty() {
        return Err(CopyError::TargetNotEmpty(occupied));
    }
    target.migrate().await?;
    let super::Db::Postgres(target) = target else {
        unreachable!("a postgres:// URL connects to Postgres")
    };

    // One read transaction: the copy is one moment of the source, even if
    // something still writes to it.
    let mut source_tx = source.begin().await?;
    sqlx::query("select count(*) from sqlite_master")
        .execute(&mut *source_tx)
        .await?;
    let source_tables = source_tables(&mut source_tx).await?;
    let order = target_tables_in_order(&target).await?;
    let skipped: Vec<String> = source_tables
        .iter()
        .filter(|t| !order.contains(t))
        .cloned()
        .collect();

    let mut tx = target.begin().await?;
    let mut tables = Vec::new();
    for table in order.iter().filter(|t| source_tables.contains(t)) {
        let columns = copied_columns(&mut source_tx, &target, table).await?;
        let total: i64 = sqlx::query_scalar(&format!("select count(*) from \"{table}\""))
            .fetch_one(&mut *source_tx)
            .await?;
        progress(table, 0, total);
        let self_refs = self_references(&target, table).await?;
        let identity = has_identity(&target, table).await?;
        let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        let select = format!(
            "select {} from \"{table}\" order by rowid",
            names
                .iter()
                .map(|n| format!("\"{n}\""))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let per_batch = BATCH_ROWS.min(60_000 / columns.len().max(1));
        let mut batch: Vec<Vec<Value>> = Vec::with_capacity(per_batch);
        let mut later: Vec<(Value, String, Value)> = Vec::new();
        let mut checksum = 0u128;
        let mut done = 0i64;
        let mut rows = sqlx::query(&select).fetch(&mut *source_tx);
        while let Some(row) = rows.try_next().await? {
            let mut values = Vec::with_capacity(columns.len());
            for (i, column) in columns.iter().enumerate() {
                values.push(convert(read_sqlite(&row, i)?, column, table)?);
            }
            checksum = checksum.wrapping_add(row_hash(&values));
            for column in &self_refs {
                let i = names
                    .iter()
                    .position(|n| n == column)
                    .expect("a copied column");
                if values[i] != Value::Null {
                    let id = values[names.iter().position(|n| *n == "id").expect("an id")].clone();
                    later.push((
                        id,
                        column.clone(),
                        std::mem::replace(&mut values[i], Value::Null),
                    ));
                }
            }
            batch.push(values);
            if batch.len() == per_batch {
                insert(&mut tx, table, &columns, identity, &batch).await?;
                done += batch.len() as i64;
                batch.clear();
                progress(table, done, total);
            }
        }
        drop(rows);
        if !batch.is_empty() {
            insert(&mut tx, table, &columns, identity, &batch).await?;
            done += batch.len() as i64;
            progress(table, done, total);
        }
        // References to rows of the same table, once they all exist.
        for (id, column, value) in later {
            let sql = format!("update \"{table}\" set \"{column}\" = $1 where id = $2");
            let query = bind(
                bind(sqlx::query::<Postgres>(&sql), value, "bigint"),
                id,
                "bigint",
            );
            query.execute(&mut *tx).await?;
        }
        if identity {
            sqlx::query(&format!(
                "select setval(pg_get_serial_sequence('\"{table}\"', 'id'), coalesce(max(id), 0) + 1, false) from \"{table}\""
            ))
            .execute(&mut *tx)
            .await?;
        }
        let (target_rows, target_checksum) = read_back(&mut tx, table, &columns).await?;
        tables.push(TableCopy {
            table: table.clone(),
            source_rows: total,
            target_rows,
            source_checksum: format!("{checksum:032x}"),
            target_checksum: format!("{target_checksum:032x}"),
        });
    }
    if let Some(bad) = tables.iter().find(|t| !t.matches()) {
        return Err(CopyError::Value(format!(
            "{} differs after the copy (rows {} → {}, checksum {} → {}); nothing was written",
            bad.table, bad.source_rows, bad.target_rows, bad.source_checksum, bad.target_checksum
        )));
    }
    tx.commit().await?;
    source_tx.rollback().await?;
    let audit_append_only: bool = sqlx::query_scalar(
        "select exists (select 1 from pg_trigger where tgname = 'audit_events_no_change' and not tgisinternal)",
    )
    .fetch_one(&target)
    .await?;
    source.close().await;
    target.close().await;
    Ok(CopyReport {
        tables,
        skipped,
        audit_append_only,
    })
}

async fn check_source_migrated(source: &SqlitePool) -> Result<(), CopyError> {
    let latest = sqlx::migrate!("./migrations/sqlite")
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or(0);
    let applied: Option<i64> =
        sqlx::query_scalar("select max(version) from _sqlx_migrations where success")
            .fetch_one(source)
            .await
            .map_err(|_| {
                CopyError::SourceBehind(
                    "the source is not a Portico database (it has no migrations table)".to_owned(),
                )
            })?;
    if applied.unwrap_or(0) < latest {
        return Err(CopyError::SourceBehind(format!(
            "the source is migrated to version {} and this build to {latest}: run `portico migrate` with DATABASE_URL set to the source first",
            applied.unwrap_or(0)
        )));
    }
    Ok(())
}

async fn source_tables(source: &mut sqlx::SqliteConnection) -> Result<Vec<String>, CopyError> {
    Ok(sqlx::query_scalar(
        "select name from sqlite_master where type = 'table'
         and name not like 'sqlite_%' and name <> '_sqlx_migrations' order by name",
    )
    .fetch_all(&mut *source)
    .await?)
}

/// The target's tables, by name.
async fn target_tables(target: &PgPool) -> Result<Vec<String>, CopyError> {
    Ok(sqlx::query_scalar(
        "select c.relname::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = current_schema() and c.relkind in ('r', 'p') and not c.relispartition
           and c.relname <> '_sqlx_migrations' order by 1",
    )
    .fetch_all(target)
    .await?)
}

/// The target's tables, each after the tables it refers to.
async fn target_tables_in_order(target: &PgPool) -> Result<Vec<String>, CopyError> {
    let tables = target_tables(target).await?;
    let edges: Vec<(String, String)> = sqlx::query_as(
        "select conrelid::regclass::text, confrelid::regclass::text from pg_constraint
         where contype = 'f' and conrelid <> confrelid",
    )
    .fetch_all(target)
    .await?;
    let mut parents: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (child, parent) in &edges {
        parents
            .entry(child.trim_matches('"'))
            .or_default()
            .push(parent.trim_matches('"'));
    }
    let mut order: Vec<String> = Vec::new();
    while order.len() < tables.len() {
        let before = order.len();
        for t in &tables {
            if order.contains(t) {
                continue;
            }
            let ready = parents.get(t.as_str()).is_none_or(|ps| {
                ps.iter()
                    .all(|p| order.iter().any(|o| o == p) || !tables.iter().any(|x| x == p))
            });
            if ready {
                order.push(t.clone());
            }
        }
        if order.len() == before {
            return Err(CopyError::Usage(
                "the target's tables refer to each other in a cycle".to_owned(),
            ));
        }
    }
    Ok(order)
}

async fn row_counts_pg(
    target: &PgPool,
    tables: &[String],
) -> Result<Vec<(String, i64)>, CopyError> {
    let mut counts = Vec::new();
    for t in tables {
        let n: i64 = sqlx::query_scalar(&format!("select count(*) from \"{t}\""))
            .fetch_one(target)
            .await?;
        counts.push((t.clone(), n));
    }
    Ok(counts)
}

/// The columns both sides have, in the target's order.
async fn copied_columns(
    source: &mut sqlx::SqliteConnection,
    target: &PgPool,
    table: &str,
) -> Result<Vec<TargetColumn>, CopyError> {
    let on_source: Vec<String> = sqlx::query_scalar("select name from pragma_table_info(?)")
        .bind(table)
        .fetch_all(&mut *source)
        .await?;
    let on_target: Vec<(String, String)> = sqlx::query_as(
        "select column_name::text, data_type::text from information_schema.columns
         where table_schema = current_schema() and table_name = $1 order by ordinal_position",
    )
    .bind(table)
    .fetch_all(target)
    .await?;
    Ok(on_target
        .into_iter()
        .filter(|(name, _)| on_source.contains(name))
        .map(|(name, data_type)| TargetColumn { name, data_type })
        .collect())
}

/// Columns of `table` that refer to `table` itself.
async fn self_references(target: &PgPool, table: &str) -> Result<Vec<String>, CopyError> {
    Ok(sqlx::query_scalar(
        "select a.attname::text from pg_constraint c
         join pg_attribute a on a.attrelid = c.conrelid and a.attnum = any(c.conkey)
         where c.contype = 'f' and c.conrelid = c.confrelid and c.conrelid = $1::regclass",
    )
    .bind(format!("\"{table}\""))
    .fetch_all(target)
    .await?)
}

async fn has_identity(target: &PgPool, table: &str) -> Result<bool, CopyError> {
    Ok(sqlx::query_scalar(
        "select exists (select 1 from information_schema.columns
         where table_schema = current_schema() and table_name = $1 and column_name = 'id' and is_identity = 'YES')",
    )
    .bind(table)
    .fetch_one(target)
    .await?)
}

fn read_sqlite(row: &SqliteRow, i: usize) -> Result<Value, CopyError> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let kind = raw.type_info().name().to_owned();
    Ok(match kind.as_str() {
        "INTEGER" | "BOOLEAN" => Value::Int(row.try_get(i)?),
        "REAL" => Value::Real(row.try_get(i)?),
        "BLOB" => Value::Bytes(row.try_get(i)?),
        _ => Value::Text(row.try_get(i)?),
    })
}

/// A source value as the target column takes it.
fn convert(value: Value, column: &TargetColumn, table: &str) -> Result<Value, CopyError> {
    let bad = |v: &Value| {
        CopyError::Value(format!(
            "{table}.{}: cannot store {v:?} as {}",
            column.name, column.data_type
        ))
    };
    Ok(match (column.data_type.as_str(), value) {
        (_, Value::Null) => Value::Null,
        ("bigint" | "integer" | "smallint", Value::Int(n)) => Value::Int(n),
        ("bigint" | "integer" | "smallint", Value::Text(s)) => {
            Value::Int(s.trim().parse().map_err(|_| bad(&Value::Text(s.clone())))?)
        }
        ("boolean", Value::Int(n)) => Value::Bool(n != 0),
        ("boolean", Value::Text(s)) => match s.as_str() {
            "1" | "true" | "t" => Value::Bool(true),
            "0" | "false" | "f" => Value::Bool(false),
            _ => return Err(bad(&Value::Text(s))),
        },
        ("text" | "character varying", Value::Text(s)) => Value::Text(s),
        ("text" | "character varying", Value::Int(n)) => Value::Text(n.to_string()),
        ("text" | "character varying", Value::Real(x)) => Value::Text(x.to_string()),
        ("timestamp with time zone", Value::Text(s)) => {
            Value::Time(parse_time(&s).ok_or_else(|| bad(&Value::Text(s.clone())))?)
        }
        ("timestamp with time zone", Value::Int(n)) => {
            Value::Time(DateTime::from_timestamp(n, 0).ok_or_else(|| bad(&Value::Int(n)))?)
        }
        ("bytea", Value::Bytes(b)) => Value::Bytes(b),
        ("bytea", Value::Text(s)) => Value::Bytes(s.into_bytes()),
        ("double precision" | "real", Value::Real(x)) => Value::Real(x),
        ("double precision" | "real", Value::Int(n)) => Value::Real(n as f64),
        (_, v) => return Err(bad(&v)),
    })
}

/// A timestamp as SQLite holds it (sqlx's RFC 3339 text, or SQLite's own
/// `YYYY-MM-DD HH:MM:SS`), in UTC, to the microsecond Postgres keeps.
fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let t = DateTime::parse_from_rfc3339(s)
        .ok()
        .or_else(|| DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%:z").ok())
        .map(|t| t.with_timezone(&Utc))
        .or_else(|| {
            ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
                .iter()
                .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
                .map(|n| n.and_utc())
        })?;
    t.with_nanosecond(t.nanosecond() / 1000 * 1000)
}

fn row_hash(values: &[Value]) -> u128 {
    let mut bytes = Vec::new();
    for v in values {
        v.canonical(&mut bytes);
    }
    let digest = Sha256::digest(&bytes);
    u128::from_be_bytes(digest[..16].try_into().expect("16 bytes"))
}

fn bind<'q>(
    query: sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>,
    value: Value,
    data_type: &str,
) -> sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments> {
    match (value, data_type) {
        (Value::Null, "bigint") => query.bind(None::<i64>),
        (Value::Null, "integer") => query.bind(None::<i32>),
        (Value::Null, "smallint") => query.bind(None::<i16>),
        (Value::Null, "boolean") => query.bind(None::<bool>),
        (Value::Null, "timestamp with time zone") => query.bind(None::<DateTime<Utc>>),
        (Value::Null, "bytea") => query.bind(None::<Vec<u8>>),
        (Value::Null, "double precision" | "real") => query.bind(None::<f64>),
        (Value::Null, _) => query.bind(None::<String>),
        (Value::Int(n), "integer") => query.bind(n as i32),
        (Value::Int(n), "smallint") => query.bind(n as i16),
        (Value::Int(n), _) => query.bind(n),
        (Value::Real(x), _) => query.bind(x),
        (Value::Bool(b), _) => query.bind(b),
        (Value::Text(s), _) => query.bind(s),
        (Value::Bytes(b), _) => query.bind(b),
        (Value::Time(t), _) => query.bind(t),
    }
}

async fn insert(
    tx: &mut sqlx::Transaction<'_, Postgres>,
    table: &str,
    columns: &[TargetColumn],
    identity: bool,
    rows: &[Vec<Value>],
) -> Result<(), CopyError> {
    let mut sql = format!(
        "insert into \"{table}\" ({}){} values ",
        columns
            .iter()
            .map(|c| format!("\"{}\"", c.name))
            .collect::<Vec<_>>()
            .join(", "),
        if identity {
            " overriding system value"
        } else {
            ""
        }
    );
    let mut n = 0;
    for (r, _) in rows.iter().enumerate() {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..columns.len() {
            if c > 0 {
                sql.push_str(", ");
            }
            n += 1;
            sql.push_str(&format!("${n}"));
        }
        sql.push(')');
    }
    let mut query = sqlx::query::<Postgres>(&sql);
    for row in rows {
        for (value, column) in row.iter().zip(columns) {
            query = bind(query, value.clone(), &column.data_type);
        }
    }
    query.execute(&mut **tx).await?;
    Ok(())
}

/// The target's rows of `table`, counted and hashed as the source's were.
async fn read_back(
    tx: &mut sqlx::Transaction<'_, Postgres>,
    table: &str,
    columns: &[TargetColumn],
) -> Result<(i64, u128), CopyError> {
    let select = format!(
        "select {} from \"{table}\"",
        columns
            .iter()
            .map(|c| format!("\"{}\"", c.name))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut rows = sqlx::query(&select).fetch(&mut **tx);
    let (mut count, mut checksum) = (0i64, 0u128);
    while let Some(row) = rows.try_next().await? {
        let values = columns
            .iter()
            .enumerate()
            .map(|(i, c)| read_pg(&row, i, &c.data_type))
            .collect::<Result<Vec<_>, _>>()?;
        checksum = checksum.wrapping_add(row_hash(&values));
        count += 1;
    }
    Ok((count, checksum))
}

fn read_pg(row: &PgRow, i: usize, data_type: &str) -> Result<Value, CopyError> {
    Ok(match data_type {
        "bigint" => row
            .try_get::<Option<i64>, _>(i)?
            .map_or(Value::Null, Value::Int),
        "integer" => row
            .try_get::<Option<i32>, _>(i)?
            .map_or(Value::Null, |n| Value::Int(n.into())),
        "smallint" => row
            .try_get::<Option<i16>, _>(i)?
            .map_or(Value::Null, |n| Value::Int(n.into())),
        "boolean" => row
            .try_get::<Option<bool>, _>(i)?
            .map_or(Value::Null, Value::Bool),
        "timestamp with time zone" => row
            .try_get::<Option<DateTime<Utc>>, _>(i)?
            .map_or(Value::Null, Value::Time),
        "bytea" => row
            .try_get::<Option<Vec<u8>>, _>(i)?
            .map_or(Value::Null, Value::Bytes),
        "double precision" | "real" => row
            .try_get::<Option<f64>, _>(i)?
            .map_or(Value::Null, Value::Real),
        _ => row
            .try_get::<Option<String>, _>(i)?
            .map_or(Value::Null, Value::Text),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_in_every_form_sqlite_holds_them() {
        let expected = DateTime::parse_from_rfc3339("2026-11-30T22:07:07.123456Z").unwrap();
        for s in [
            "2026-11-30T22:07:07.123456Z",
            "2026-11-30T22:07:07.123456789+00:00",
            "2026-11-30 22:07:07.123456+00:00",
            "2026-11-30 22:07:07.123456",
            "2026-11-30T23:07:07.123456+01:00",
        ] {
            assert_eq!(parse_time(s), Some(expected.with_timezone(&Utc)), "{s}");
        }
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn values_convert_by_the_target_type_and_refuse_what_does_not_fit() {
        let col = |t: &str| TargetColumn {
            name: "c".into(),
            data_type: t.into(),
        };
        assert_eq!(
            convert(Value::Int(1), &col("boolean"), "t").unwrap(),
            Value::Bool(true)
        );
        assert_eq!(
            convert(
                Value::Int(1_700_000_000),
                &col("timestamp with time zone"),
                "t"
            )
            .unwrap(),
            Value::Time(DateTime::from_timestamp(1_700_000_000, 0).unwrap())
        );
        assert_eq!(
            convert(Value::Null, &col("bigint"), "t").unwrap(),
            Value::Null
        );
        let err = convert(
            Value::Text("soon".into()),
            &col("timestamp with time zone"),
            "keys",
        )
        .unwrap_err();
        assert!(err.to_string().contains("keys.c"), "{err}");
        assert!(convert(Value::Bytes(vec![1]), &col("bigint"), "t").is_err());
    }

    #[test]
    fn checksums_see_every_value_and_not_the_row_order() {
        let a = vec![Value::Int(1), Value::Text("a".into())];
        let b = vec![Value::Int(2), Value::Null];
        assert_eq!(
            row_hash(&a).wrapping_add(row_hash(&b)),
            row_hash(&b).wrapping_add(row_hash(&a))
        );
        assert_ne!(
            row_hash(&a),
            row_hash(&[Value::Int(1), Value::Text("b".into())])
        );
        // A text "1" is not the number 1, nor two columns one.
        assert_ne!(
            row_hash(&[Value::Text("1".into())]),
            row_hash(&[Value::Int(1)])
        );
        assert_ne!(
            row_hash(&[Value::Text("ab".into()), Value::Text("".into())]),
            row_hash(&[Value::Text("a".into()), Value::Text("b".into())])
        );
    }
}

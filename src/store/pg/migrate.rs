//! The schema: versioned SQL files kept in `migrations/`, applied in order by the gateway
//! itself and recorded in `schema_migrations`. Gateways starting at once take turns (an
//! advisory lock); a database migrated by a newer gateway is refused, never downgraded.

use super::super::StoreError;
use tokio_postgres::Client;

/// Every migration: version, name, SQL. Append only; a released file never changes.
pub const MIGRATIONS: &[(u32, &str, &str)] = &[
    (1, "init", include_str!("../../../migrations/0001_init.sql")),
    (
        2,
        "sessions",
        include_str!("../../../migrations/0002_sessions.sql"),
    ),
    (
        3,
        "staff_sessions",
        include_str!("../../../migrations/0003_staff_sessions.sql"),
    ),
    (
        4,
        "business",
        include_str!("../../../migrations/0004_business.sql"),
    ),
    (
        5,
        "banks",
        include_str!("../../../migrations/0005_banks.sql"),
    ),
];

/// The schema version this gateway writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS[MIGRATIONS.len() - 1].0;

/// Any constant key shared by every gateway: "keitai-gateway schema".
const LOCK: i64 = 0x6b67_7363_6865_6d61;

pub(super) async fn migrate(client: &mut Client) -> Result<(), StoreError> {
    client
        .execute("SELECT pg_advisory_lock($1)", &[&LOCK])
        .await?;
    let result = apply(client).await;
    // Unlocked whatever happened (a lost connection unlocks by itself).
    let _ = client
        .execute("SELECT pg_advisory_unlock($1)", &[&LOCK])
        .await;
    result
}

async fn apply(client: &mut Client) -> Result<(), StoreError> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                version    int PRIMARY KEY,
                name       text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )",
        )
        .await?;
    let row = client
        .query_one(
            "SELECT coalesce(max(version), 0) FROM schema_migrations",
            &[],
        )
        .await?;
    let current: i32 = row.get(0);
    let current = u32::try_from(current).unwrap_or(0);
    if current > SCHEMA_VERSION {
        return Err(StoreError::Schema(format!(
            "the database is at schema version {current}, newer than this gateway's \
             {SCHEMA_VERSION}: upgrade the gateway"
        )));
    }
    for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        let tx = client.transaction().await?;
        tx.batch_execute(sql).await.map_err(|e| {
            StoreError::Schema(format!("migration {version:04}_{name}.sql failed: {e}"))
        })?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
            &[&(*version as i32), name],
        )
        .await?;
        tx.commit().await?;
    }
    Ok(())
}

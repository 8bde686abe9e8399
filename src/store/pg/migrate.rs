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
    (
        6,
        "staging",
        include_str!("../../../migrations/0006_staging.sql"),
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

#[cfg(test)]
mod tests {
    use super::super::harness;
    use super::MIGRATIONS;
    use crate::seal::Sealer;
    use crate::store::{ReceiptKind, Store};

    /// A database written at schema 4 (one bank, no bank column) keeps its records, counters
    /// and chain head through migration 0005: they become the one-bank rows (bank '').
    #[test]
    fn a_schema_4_database_keeps_its_records_through_the_bank_column() {
        let cluster = harness::shared();
        let name = "schema4_upgrade";
        let url = cluster.database(name);
        let mut old = String::from(
            "CREATE TABLE schema_migrations (version int PRIMARY KEY, name text NOT NULL, \
             applied_at timestamptz NOT NULL DEFAULT now());",
        );
        for (version, mname, sql) in MIGRATIONS.iter().filter(|m| m.0 <= 4) {
            old.push_str(sql);
            old.push_str(&format!(
                "\nINSERT INTO schema_migrations (version, name) VALUES ({version}, '{mname}');"
            ));
        }
        old.push_str(
            "INSERT INTO staff (staff_id, body) VALUES ('C1', '{\"staff_id\":\"C1\",\"name\":\"n\",\
             \"branch_code\":\"001\",\"role\":\"clerk\",\"password_hash\":\"h\"}');\
             UPDATE counters SET next = 1000005 WHERE name = 'receipt';",
        );
        cluster.sql(name, &old);
        let store = Store::open_postgres(&url, Sealer::from_key(&[3; 32])).unwrap();
        assert_eq!(
            cluster.sql(name, "SELECT max(version) FROM schema_migrations"),
            super::SCHEMA_VERSION.to_string(),
            "every migration since, 0005 among them"
        );
        assert!(store.staff("C1").unwrap().is_some());
        let n = store
            .commit_now(|tx| {
                tx.receipt(ReceiptKind::Registration, "1000000001", "S", None, 1)
                    .map(|r| r.number)
            })
            .unwrap();
        assert_eq!(n, 1_000_005);
        assert_eq!(
            cluster.sql(name, "SELECT count(*) FROM staff WHERE bank = ''"),
            "1"
        );
    }
}

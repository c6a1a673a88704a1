//! The decision log on PostgreSQL: one row per entry in `decisions`, partitioned by month
//! of the decision time. A month's partition is created the first time an entry of that
//! month is written (under an advisory lock, so two replicas create it once); old months
//! can then be detached or dropped whole.

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use super::super::{DecisionEntry, DecisionQuery, LoggedDecision, StoreError};
use super::{PgStore, sql};

/// `year * 12 + month0`: a month's number.
fn month_of(time: DateTime<Utc>) -> i32 {
    time.year() * 12 + time.month0() as i32
}

/// The first day of a month number.
fn first_day(month: i32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(month.div_euclid(12), month.rem_euclid(12) as u32 + 1, 1)
}

/// `CREATE TABLE … PARTITION OF decisions` for a month (dates are formatted by us, not
/// taken from input).
fn create_partition(month: i32) -> Option<String> {
    let from = first_day(month)?;
    let to = first_day(month + 1)?;
    Some(format!(
        "CREATE TABLE IF NOT EXISTS decisions_y{:04}m{:02} PARTITION OF decisions \
         FOR VALUES FROM ('{from}') TO ('{to}')",
        from.year(),
        from.month()
    ))
}

impl PgStore {
    /// Creates the partitions of these months unless known to exist.
    async fn ensure_partitions(&self, months: &[i32]) -> Result<(), StoreError> {
        let missing: Vec<i32> = {
            let known = self.partitions.lock().unwrap_or_else(|p| p.into_inner());
            months
                .iter()
                .copied()
                .filter(|m| !known.contains(m))
                .collect()
        };
        if missing.is_empty() {
            return Ok(());
        }
        let mut client = self.client().await?;
        let db = |e: tokio_postgres::Error| self.backend(e);
        let tx = client.transaction().await.map_err(db)?;
        tx.execute(sql::LOCK_PARTITIONS, &[]).await.map_err(db)?;
        for month in &missing {
            let statement = create_partition(*month).ok_or_else(|| {
                StoreError::InvalidQuery(format!("month {month} is out of range"))
            })?;
            tx.batch_execute(&statement).await.map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        self.partitions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(missing);
        Ok(())
    }

    pub(super) async fn append_decisions_async(
        &self,
        entries: &[DecisionEntry],
    ) -> Result<Vec<u64>, StoreError> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let mut months: Vec<i32> = entries.iter().map(|e| month_of(e.time)).collect();
        months.sort_unstable();
        months.dedup();
        self.ensure_partitions(&months).await?;
        let client = self.client().await?;
        let db = |e: tokio_postgres::Error| self.backend(e);
        let count = i32::try_from(entries.len()).unwrap_or(i32::MAX);
        let seqs: Vec<i64> = client
            .query(sql::NEXT_DECISION_SEQS, &[&count])
            .await
            .map_err(db)?
            .iter()
            .map(|row| row.get(0))
            .collect();
        let mut times = Vec::with_capacity(entries.len());
        let mut rulesets = Vec::with_capacity(entries.len());
        let mut usccs = Vec::with_capacity(entries.len());
        let mut jsons = Vec::with_capacity(entries.len());
        for entry in entries {
            times.push(entry.time);
            rulesets.push(entry.ruleset_id.as_str());
            let list: Vec<&str> = entry.usccs.iter().map(|u| u.as_str()).collect();
            usccs.push(list.join(","));
            jsons.push(serde_json::to_string(entry).map_err(|e| self.backend(e))?);
        }
        client
            .execute(
                sql::INSERT_DECISIONS,
                &[&seqs, &times, &rulesets, &usccs, &jsons],
            )
            .await
            .map_err(db)?;
        Ok(seqs.into_iter().map(i64::unsigned_abs).collect())
    }

    pub(super) async fn decisions_async(
        &self,
        query: &DecisionQuery,
    ) -> Result<Vec<LoggedDecision>, StoreError> {
        let mut text = String::from(sql::DECISIONS_SELECT);
        let filters = [
            (query.uscc.is_some(), sql::DECISIONS_BY_ENTITY),
            (query.ruleset_id.is_some(), sql::DECISIONS_BY_RULESET),
            (query.from.is_some(), sql::DECISIONS_FROM),
            (query.until.is_some(), sql::DECISIONS_UNTIL),
        ];
        for (given, filter) in filters {
            if given {
                text.push_str(" AND ");
                text.push_str(filter);
            }
        }
        text.push(' ');
        text.push_str(sql::DECISIONS_ORDER);
        let after = query
            .after_seq
            .map_or(0, |s| i64::try_from(s).unwrap_or(i64::MAX));
        let uscc = query.uscc.as_ref().map(|u| u.as_str().to_owned());
        let limit: Option<i64> =
            (query.limit > 0).then(|| i64::try_from(query.limit).unwrap_or(i64::MAX));
        let client = self.client().await?;
        // Only the parameters the statement names are bound, numbered in order.
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 6] = [
            &after,
            &uscc,
            &query.ruleset_id,
            &query.from,
            &query.until,
            &limit,
        ];
        let used: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params
            .iter()
            .enumerate()
            .filter(|(i, _)| statement_uses(&text, *i + 1))
            .map(|(_, p)| *p)
            .collect();
        let statement = client
            .prepare(&renumber(&text))
            .await
            .map_err(|e| self.backend(e))?;
        let rows = client
            .query(&statement, &used)
            .await
            .map_err(|e| self.backend(e))?;
        rows.iter()
            .map(|row| {
                let seq: i64 = row.get(0);
                let json: &str = row.get(1);
                let entry: DecisionEntry =
                    serde_json::from_str(json).map_err(|e| StoreError::Corrupt {
                        tree: "decisions",
                        key: seq.to_string(),
                        reason: e.to_string(),
                    })?;
                Ok(LoggedDecision {
                    seq: seq.unsigned_abs(),
                    entry,
                })
            })
            .collect()
    }
}

/// Whether `$n` occurs in the statement.
fn statement_uses(text: &str, n: usize) -> bool {
    let marker = format!("${n}");
    text.match_indices(&marker).any(|(at, _)| {
        !text[at + marker.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit())
    })
}

/// The statement with its placeholders numbered 1, 2, … in order of first use.
fn renumber(text: &str) -> String {
    let mut out = text.to_owned();
    let mut next = 1;
    for n in 1..=6 {
        if statement_uses(text, n) {
            out = out.replace(&format!("${n}"), &format!("$#{next}"));
            next += 1;
        }
    }
    out.replace("$#", "$")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_and_partitions() {
        let time = DateTime::parse_from_rfc3339("2026-12-03T10:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .expect("time");
        let month = month_of(time);
        assert_eq!(first_day(month), NaiveDate::from_ymd_opt(2026, 12, 1));
        assert_eq!(first_day(month + 1), NaiveDate::from_ymd_opt(2027, 1, 1));
        let statement = create_partition(month).expect("statement");
        assert!(statement.contains("decisions_y2026m12"), "{statement}");
        assert!(
            statement.contains("FROM ('2026-12-01') TO ('2027-01-01')"),
            "{statement}"
        );
    }

    #[test]
    fn unused_placeholders_are_renumbered() {
        let text = "SELECT 1 WHERE seq > $1 AND time < $5 ORDER BY seq LIMIT $6";
        assert!(statement_uses(text, 1) && !statement_uses(text, 2));
        assert_eq!(
            renumber(text),
            "SELECT 1 WHERE seq > $1 AND time < $2 ORDER BY seq LIMIT $3"
        );
    }
}

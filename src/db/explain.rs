//! What a statement's plan reads, from the database's own EXPLAIN: `specgate check` asks,
//! for every declared filter, search and ordering, so that a team learns before deploying
//! that one reads (or sorts) the whole table. Reading the two databases' plan formats is
//! here; which statements to ask about is `crate::indexes`'.

use serde_json::Value;

use super::DbError;

/// What one statement's plan does with the resource's table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reading {
    /// How it reads the whole table, in the plan's words (`Seq Scan`, `SCAN t`), if it does.
    pub whole_table: Option<String>,
    /// Whether it sorts the rows itself (no index gives them in order).
    pub sorts: bool,
}

/// A PostgreSQL plan (`EXPLAIN (FORMAT JSON)`'s text): a scan of `table` without an index
/// condition reads all of it, whichever access method it walks.
pub fn postgres(json: &str, table: &str) -> Result<Reading, DbError> {
    let plan: Value = serde_json::from_str(json)
        .map_err(|e| DbError::Other(format!("cannot read the plan: {e}")))?;
    let mut reading = Reading::default();
    if let Some(root) = plan.get(0).and_then(|p| p.get("Plan")) {
        walk(root, table, &mut reading);
    }
    Ok(reading)
}

fn walk(node: &Value, table: &str, reading: &mut Reading) {
    let text = |key: &str| node.get(key).and_then(Value::as_str);
    let kind = text("Node Type").unwrap_or_default();
    let scans_table = text("Relation Name") == Some(table);
    let unbounded = match kind {
        "Seq Scan" => true,
        "Index Scan" | "Index Only Scan" => text("Index Cond").is_none(),
        _ => false,
    };
    if scans_table && unbounded && reading.whole_table.is_none() {
        reading.whole_table = Some(match text("Index Name") {
            Some(index) => format!("{kind} of all of {index}"),
            None => kind.to_owned(),
        });
    }
    reading.sorts |= kind == "Sort";
    for child in node
        .get("Plans")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        walk(child, table, reading);
    }
}

/// An SQLite plan (`EXPLAIN QUERY PLAN`'s detail column, one line per step): `SCAN t`
/// (the statements' alias for the resource's table), with or without an index, reads all
/// of it; a temporary B-tree for the whole ORDER BY is a sort.
pub fn sqlite(details: &[String]) -> Reading {
    let mut reading = Reading::default();
    for detail in details {
        if (detail == "SCAN t" || detail.starts_with("SCAN t ")) && reading.whole_table.is_none() {
            reading.whole_table = Some(detail.clone());
        }
        reading.sorts |= detail == "USE TEMP B-TREE FOR ORDER BY";
    }
    reading
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_scans_without_an_index_condition_read_the_whole_table() {
        let plan = r#"[{"Plan": {"Node Type": "Aggregate", "Plans": [
            {"Node Type": "Index Only Scan", "Relation Name": "users_user",
             "Index Name": "users_user_pkey", "Filter": "(x)"}]}}]"#;
        let reading = postgres(plan, "users_user").unwrap();
        assert_eq!(
            reading.whole_table.as_deref(),
            Some("Index Only Scan of all of users_user_pkey")
        );
        let plan = r#"[{"Plan": {"Node Type": "Limit", "Plans": [{"Node Type": "Sort",
            "Plans": [{"Node Type": "Index Scan", "Relation Name": "users_user",
            "Index Name": "i", "Index Cond": "(a = $1)"}]}]}}]"#;
        let reading = postgres(plan, "users_user").unwrap();
        assert_eq!(reading.whole_table, None);
        assert!(reading.sorts);
    }

    #[test]
    fn sqlite_scans_of_the_table_are_whole_reads() {
        let details = [
            "SCAN t USING COVERING INDEX i".to_owned(),
            "SCAN json_each VIRTUAL TABLE INDEX 1:".to_owned(),
        ];
        assert_eq!(
            sqlite(&details).whole_table.as_deref(),
            Some("SCAN t USING COVERING INDEX i")
        );
        let details = [
            "SEARCH t USING INDEX i (<expr>>? AND <expr><?)".to_owned(),
            "USE TEMP B-TREE FOR ORDER BY".to_owned(),
        ];
        assert_eq!(
            sqlite(&details),
            Reading {
                whole_table: None,
                sorts: true
            }
        );
    }
}

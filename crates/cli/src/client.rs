//! `clickledger report` and `clickledger import`: the API from a terminal.

use reqwest::Client;
use serde_json::Value;

use clickledger_server::money::parse_csv;
use clickledger_server::progress::Progress;

/// Why a request did not get an answer, in a sentence: for an unreachable
/// tracker the innermost cause (connection refused, no such host, timed
/// out) and what to check, instead of reqwest's "error sending request".
pub fn unreachable(url: &str, e: &reqwest::Error) -> String {
    let base = url.trim_end_matches('/');
    let mut cause: &dyn std::error::Error = e;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    let mut why = cause.to_string();
    if let Some(i) = why.find(" (os error") {
        why.truncate(i);
    }
    let why = why.to_lowercase();
    if e.is_connect() {
        format!("cannot reach {base}: {why} — is `clickledger serve` running there?")
    } else if e.is_timeout() {
        format!("{base} did not answer in time: {why}")
    } else {
        format!("request to {base} failed: {why}")
    }
}

/// A refusal's sentence from the server's JSON body, else the body.
fn refusal(status: reqwest::StatusCode, body: &str) -> String {
    let message = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["message"].as_str().map(String::from))
        .unwrap_or_else(|| body.trim().to_string());
    format!("{status}: {message}")
}

/// GETs a report as JSON.
async fn fetch_report(url: &str, key: &str, params: &[(String, String)]) -> Result<Value, String> {
    let resp = Client::new()
        .get(format!("{}/api/v1/reports", url.trim_end_matches('/')))
        .bearer_auth(key)
        .query(params)
        .send()
        .await
        .map_err(|e| unreachable(url, &e))?;
    let status = resp.status();
    let body = resp.text().await.map_err(|e| unreachable(url, &e))?;
    if !status.is_success() {
        return Err(refusal(status, &body));
    }
    serde_json::from_str(&body).map_err(|e| format!("the report is not JSON: {e}"))
}

/// Prints a report as an aligned table. Refused postbacks are logged per
/// offer, so the report splits them only by time, offer or advertiser; for
/// any other grouping the period's count is asked for separately and
/// printed under the table.
pub async fn report(url: &str, key: &str, params: &[(String, String)]) -> Result<(), String> {
    let v = fetch_report(url, key, params).await?;
    print!("{}", render_table(&v));
    if v["totals"]["failed_postbacks"].is_null() {
        let period: Vec<(String, String)> = params
            .iter()
            .filter(|(k, _)| ["from", "to", "tz"].contains(&k.as_str()))
            .cloned()
            .chain([("group_by".to_string(), "day".to_string())])
            .collect();
        // a partner key cannot see the postback log: then there is no count
        if let Ok(all) = fetch_report(url, key, &period).await {
            if let Some(n) = all["totals"]["failed_postbacks"].as_i64() {
                println!("failed postbacks in the period (not split by these groups): {n}");
            }
        }
    }
    Ok(())
}

const COLUMNS: &[&str] = &[
    "clicks",
    "unique_clicks",
    "conversions",
    "cr",
    "approved",
    "payout",
    "revenue",
    "profit",
    "epc",
    "failed_postbacks",
];

pub fn render_table(v: &Value) -> String {
    let groups: Vec<String> = v["group_by"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|g| g.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let header: Vec<String> = groups
        .iter()
        .cloned()
        .chain(COLUMNS.iter().map(|c| c.to_string()))
        .collect();
    let cell = |row: &Value, k: &str| match &row[k] {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let mut lines: Vec<Vec<String>> = vec![header.clone()];
    for row in v["rows"].as_array().into_iter().flatten() {
        lines.push(
            header
                .iter()
                .enumerate()
                .map(|(i, k)| match cell(row, k) {
                    // e.g. postbacks refused before their offer was known
                    empty if empty.is_empty() && i < groups.len() => format!("(no {k})"),
                    c => c,
                })
                .collect(),
        );
    }
    let totals = &v["totals"];
    lines.push(
        header
            .iter()
            .enumerate()
            .map(|(i, k)| {
                if i == 0 && !groups.is_empty() {
                    "TOTAL".into()
                } else {
                    cell(totals, k)
                }
            })
            .collect(),
    );
    table(&lines, groups.len(), true)
}

/// Aligns rows into columns: the first `left` columns to the left, the rest
/// to the right (numbers); a rule under the header and, with `totals`,
/// above the last row.
pub fn table(lines: &[Vec<String>], left: usize, totals: bool) -> String {
    let columns = lines.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            lines
                .iter()
                .map(|l| l[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let rule = widths
        .iter()
        .map(|w| "-".repeat(*w))
        .collect::<Vec<_>>()
        .join("  ");
    let mut out = String::new();
    for (n, l) in lines.iter().enumerate() {
        let cells: Vec<String> = l
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i < left {
                    format!("{c:<w$}", w = widths[i])
                } else {
                    format!("{c:>w$}", w = widths[i])
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
        if n == 0 || totals && n + 2 == lines.len() {
            out.push_str(&rule);
            out.push('\n');
        }
    }
    out
}

/// Uploads a conversions CSV in chunks, prints the per-row results (CSV on
/// stdout) and a summary on stderr; fails when any row was refused, so a
/// script notices.
pub async fn import(url: &str, key: &str, path: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header = lines.next().ok_or(format!("{path}: the file is empty"))?;
    let rows: Vec<&str> = lines.collect();
    let client = Client::new();
    let mut progress = Progress::new("rows", rows.len() as u64);
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    let mut offset = 0;
    // a header-only file still goes up once, so its header is checked
    let chunks: Vec<&[&str]> = if rows.is_empty() {
        vec![&[]]
    } else {
        rows.chunks(500).collect()
    };
    for chunk in chunks {
        let body = std::iter::once(header)
            .chain(chunk.iter().copied())
            .collect::<Vec<_>>()
            .join("\n");
        let resp = client
            .post(format!(
                "{}/api/v1/conversions/import",
                url.trim_end_matches('/')
            ))
            .bearer_auth(key)
            .header("content-type", "text/csv")
            .body(body)
            .send()
            .await
            .map_err(|e| unreachable(url, &e))?;
        let status = resp.status();
        let out = resp.text().await.map_err(|e| unreachable(url, &e))?;
        if !status.is_success() {
            return Err(format!("{path}: {}", refusal(status, &out)));
        }
        let mut out_lines = out.lines();
        let out_header = out_lines.next().unwrap_or("");
        if offset == 0 {
            println!("{out_header}");
        }
        for line in out_lines {
            // renumber rows across chunks
            let (n, rest) = line.split_once(',').unwrap_or((line, ""));
            println!(
                "{},{rest}",
                n.parse::<usize>().map(|n| n + offset).unwrap_or(0)
            );
            let fields = parse_csv(line).into_iter().next().unwrap_or_default();
            let result = fields.get(3).cloned().unwrap_or_default();
            *counts.entry(result).or_default() += 1;
        }
        offset += chunk.len();
        progress.add(chunk.len() as u64);
    }
    progress.finish();
    let refused = counts.get("rejected").copied().unwrap_or(0);
    let summary = counts
        .iter()
        .map(|(r, n)| format!("{n} {r}"))
        .collect::<Vec<_>>()
        .join(", ");
    let rows_n = |n: usize| format!("{n} row{}", if n == 1 { "" } else { "s" });
    eprintln!(
        "{}: {}",
        rows_n(rows.len()),
        if summary.is_empty() { "none" } else { &summary }
    );
    if refused > 0 {
        return Err(format!(
            "{refused} of {} {} refused; each refused row says why in its error and message",
            rows_n(rows.len()),
            if refused == 1 { "was" } else { "were" }
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_and_totals() {
        let v = serde_json::json!({
            "group_by": ["day"],
            "rows": [{"day": "2026-11-24", "clicks": 10, "unique_clicks": 9, "conversions": 1, "cr": "10.00", "approved": 1, "payout": "2.00", "revenue": "3.00", "profit": "1.00", "epc": "0.2000"}],
            "totals": {"clicks": 10, "unique_clicks": 9, "conversions": 1, "cr": "10.00", "approved": 1, "payout": "2.00", "revenue": "3.00", "profit": "1.00", "epc": "0.2000"}
        });
        let t = render_table(&v);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].starts_with("day         clicks"), "{t}");
        assert!(lines[2].starts_with("2026-11-24      10"), "{t}");
        assert!(lines[4].starts_with("TOTAL           10"), "{t}");
    }
}

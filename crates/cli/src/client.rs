//! `clickledger report` and `clickledger import`: the API from a terminal.

use reqwest::Client;
use serde_json::Value;

use clickledger_server::progress::Progress;

/// Prints a report as an aligned table.
pub async fn report(url: &str, key: &str, params: &[(String, String)]) -> Result<(), String> {
    let resp = Client::new()
        .get(format!("{}/api/v1/reports", url.trim_end_matches('/')))
        .bearer_auth(key)
        .query(params)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = resp.status();
    let v: Value = resp.json().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("{status}: {}", v["message"].as_str().unwrap_or("")));
    }
    print!("{}", render_table(&v));
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
        lines.push(header.iter().map(|k| cell(row, k)).collect());
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
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            lines
                .iter()
                .map(|l| l[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for (n, l) in lines.iter().enumerate() {
        let cells: Vec<String> = l
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i < groups.len() {
                    format!("{c:<w$}", w = widths[i])
                } else {
                    format!("{c:>w$}", w = widths[i])
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
        if n == 0 || n == lines.len() - 2 {
            out.push_str(
                &widths
                    .iter()
                    .map(|w| "-".repeat(*w))
                    .collect::<Vec<_>>()
                    .join("  "),
            );
            out.push('\n');
        }
    }
    out
}

/// Uploads a conversions CSV in chunks, prints the per-row results.
pub async fn import(url: &str, key: &str, path: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header = lines.next().ok_or("the file is empty")?.to_string();
    let rows: Vec<&str> = lines.collect();
    let client = Client::new();
    let mut progress = Progress::new("rows", rows.len() as u64);
    println!("row,click_id,txid,result,error,message,conversion_id");
    let mut offset = 0;
    for chunk in rows.chunks(500) {
        let body = std::iter::once(header.as_str())
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
            .map_err(|e| e.to_string())?;
        if !resp.status().is_success() {
            return Err(format!(
                "{}: {}",
                resp.status(),
                resp.text().await.unwrap_or_default()
            ));
        }
        let out = resp.text().await.map_err(|e| e.to_string())?;
        for line in out.lines().skip(1) {
            // renumber rows across chunks
            let (n, rest) = line.split_once(',').unwrap_or((line, ""));
            println!(
                "{},{rest}",
                n.parse::<usize>().map(|n| n + offset).unwrap_or(0)
            );
        }
        offset += chunk.len();
        progress.add(chunk.len() as u64);
    }
    progress.finish();
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

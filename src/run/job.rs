//! Job files: a run written to a file (its settings without the key, every
//! item with its state, attempts and result) to be continued in another
//! browser, optionally split into N parts; and lists of images imported
//! from CSV or JSON files, with the column to use.

use serde::{Deserialize, Serialize};

use super::saved::{SavedItem, SavedRun};

/// The `format` of a job file.
pub const JOB_FORMAT: &str = "pacer-job";

/// A run as a file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobFile {
    /// Always [`JOB_FORMAT`].
    pub format: String,
    /// Which part of how many, when the job was split (1-based).
    pub part: Option<(usize, usize)>,
    /// Settings (no key), the images in order, which are local files.
    pub run: SavedRun,
    /// Every item that had started, by its index in the run (its image's
    /// in `run.sources`, or image × model with per-model calls).
    pub items: Vec<(usize, SavedItem)>,
    /// What the import had to mend, one sentence each (never written).
    #[serde(skip)]
    pub notes: Vec<String>,
}

/// What an imported file holds.
#[derive(Clone, Debug, PartialEq)]
pub enum Imported {
    /// A job to continue.
    Job(Box<JobFile>),
    /// A table (CSV rows, or JSON objects): pick the column of image URLs.
    Table(Table),
}

/// Rows of text cells under their column names.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    /// Column names (`column 1`… when the file has none).
    pub headers: Vec<String>,
    /// The rows, each as long as `headers` (missing cells are empty).
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// Columns holding http(s) URLs, as (column, how many), most first.
    pub fn url_columns(&self) -> Vec<(usize, usize)> {
        let mut columns: Vec<(usize, usize)> = (0..self.headers.len())
            .map(|c| {
                let n = self
                    .rows
                    .iter()
                    .filter(|r| r.get(c).is_some_and(|v| looks_like_url(v)))
                    .count();
                (c, n)
            })
            .filter(|(_, n)| *n > 0)
            .collect();
        pacer_core::sort::sort_by(&mut columns, |a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        columns
    }

    /// The non-empty cells of `column`, in row order.
    pub fn column(&self, column: usize) -> Vec<String> {
        self.rows
            .iter()
            .filter_map(|r| r.get(column).map(|v| v.trim().to_owned()))
            .filter(|v| !v.is_empty())
            .collect()
    }
}

/// Whether the JSON object `text` says it is a Pacer job (its `format`),
/// read without building the rest of it.
fn is_job(text: &str) -> bool {
    #[derive(Deserialize)]
    struct Format {
        format: Option<String>,
    }
    serde_json::from_str::<Format>(text).is_ok_and(|f| f.format.as_deref() == Some(JOB_FORMAT))
}

fn looks_like_url(text: &str) -> bool {
    let t = text.trim().to_ascii_lowercase();
    t.starts_with("http://") || t.starts_with("https://")
}

/// Reads a job file, a JSON list (strings or objects) or a CSV file.
pub fn parse_import(name: &str, text: &str) -> Result<Imported, String> {
    let trimmed = text.trim_start_matches('\u{feff}').trim();
    if trimmed.is_empty() {
        return Err(format!("{name} is empty."));
    }
    if trimmed.starts_with('{') && is_job(trimmed) {
        // From the text, not `from_value`: the saved types then have one
        // deserializer in the wasm, the one IndexedDB loads use too (issue
        // 5 item 8, the size budget); and a large job is parsed once.
        let mut job: JobFile = serde_json::from_str(trimmed)
            .map_err(|e| format!("{name} is a Pacer job this version cannot read ({e})."))?;
        job.notes = super::checked::check_job(&mut job)
            .map_err(|why| format!("{name} cannot be imported: {why}."))?;
        return Ok(Imported::Job(Box::new(job)));
    }
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        let value: serde_json::Value = serde_json::from_str(trimmed)
            .map_err(|e| format!("{name} is not valid JSON ({e})."))?;
        return from_json(name, value);
    }
    from_csv(name, trimmed)
}

fn from_json(name: &str, value: serde_json::Value) -> Result<Imported, String> {
    // Pacer's own JSON export ({"items": [...]}) or any list.
    let list = match value {
        serde_json::Value::Array(list) => list,
        serde_json::Value::Object(mut o) => match o.remove("items") {
            Some(serde_json::Value::Array(list)) => list,
            _ => {
                return Err(format!(
                    "{name}: expected a list of images (or of objects with an image URL)."
                ))
            }
        },
        _ => return Err(format!("{name}: expected a list of images.")),
    };
    let cell = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    };
    let mut headers: Vec<String> = Vec::new();
    for item in &list {
        if let Some(o) = item.as_object() {
            for k in o.keys() {
                if !headers.contains(k) {
                    headers.push(k.clone());
                }
            }
        }
    }
    if headers.is_empty() {
        let rows = list.iter().map(|v| vec![cell(v)]).collect();
        return Ok(Imported::Table(Table {
            headers: vec!["value".into()],
            rows,
        }));
    }
    let rows = list
        .iter()
        .map(|item| {
            headers
                .iter()
                .map(|h| item.get(h).map(cell).unwrap_or_default())
                .collect()
        })
        .collect();
    Ok(Imported::Table(Table { headers, rows }))
}

fn from_csv(name: &str, text: &str) -> Result<Imported, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rows: Vec<Vec<String>> = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| format!("{name} is not valid CSV ({e})."))?;
        rows.push(record.iter().map(str::to_owned).collect());
    }
    let width = rows.iter().map(Vec::len).max().unwrap_or(0);
    for row in &mut rows {
        row.resize(width, String::new());
    }
    // A first row with a URL in it is data, not names.
    let headers = if rows
        .first()
        .is_some_and(|r| !r.iter().any(|v| looks_like_url(v)))
    {
        rows.remove(0)
    } else {
        (1..=width).map(|i| format!("column {i}")).collect()
    };
    Ok(Imported::Table(Table { headers, rows }))
}

/// The job of `run` and its `items`, whole (`parts` ≤ 1) or split into
/// `parts` files of consecutive images, each a job of its own (with an id
/// of its own, derived from the run's, so that importing a part twice
/// finds the same run). An image's items (one per model with per-model
/// calls) stay together, and each item names its job's run.
pub fn split_job(run: &SavedRun, items: &[(usize, SavedItem)], parts: usize) -> Vec<JobFile> {
    let total = run.sources.len();
    let per_image = run.items_per_image();
    let parts = parts.clamp(1, total.max(1));
    let size = total.div_ceil(parts).max(1);
    (0..parts)
        .map(|k| {
            let range = (k * size).min(total)..((k + 1) * size).min(total);
            let item_range = range.start * per_image..range.end * per_image;
            let mut part_run = run.clone();
            if parts > 1 {
                part_run.id = run.id.as_ref().map(|id| id.part(k + 1, parts));
            }
            let id = part_run.id.clone();
            part_run.sources = run.sources[range.clone()].to_vec();
            part_run.files = run
                .files
                .iter()
                .filter(|id| range.contains(id))
                .map(|id| id - range.start)
                .collect();
            JobFile {
                format: JOB_FORMAT.into(),
                part: (parts > 1).then_some((k + 1, parts)),
                run: part_run,
                items: items
                    .iter()
                    .filter(|(id, _)| item_range.contains(id))
                    .map(|(i, item)| {
                        let item = match &id {
                            Some(id) => item.clone().of_run(id),
                            None => item.clone(),
                        };
                        (i - item_range.start, item)
                    })
                    .collect(),
                notes: Vec::new(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::id::RunId;
    use crate::run::model::{ItemResult, ItemState};
    use crate::run::saved::SavedSettings;

    fn images(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("https://x/{i}.jpg")).collect()
    }

    fn failed() -> SavedItem {
        SavedItem::capture(
            ItemState::Failed,
            Some(&ItemResult::Err("HTTP 400".into())),
            &[],
        )
    }

    #[test]
    fn reads_csv_with_and_without_a_header_and_picks_the_url_column() {
        let Imported::Table(t) = parse_import(
            "a.csv",
            "id,name,photo\n1,kitchen,https://x/1.jpg\n2,bath,\"https://x/2.jpg\"\n3,none,\n",
        )
        .unwrap() else {
            panic!("not a table")
        };
        assert_eq!(t.headers, ["id", "name", "photo"]);
        assert_eq!(t.url_columns(), [(2, 2)]);
        assert_eq!(t.column(2), ["https://x/1.jpg", "https://x/2.jpg"]);
        let Imported::Table(t) =
            parse_import("b.csv", "https://x/1.jpg,a\nhttps://x/2.jpg,b").unwrap()
        else {
            panic!("not a table")
        };
        assert_eq!(t.headers, ["column 1", "column 2"]);
        assert_eq!(t.column(0).len(), 2);
    }

    #[test]
    fn reads_json_lists_and_pacers_own_export() {
        let Imported::Table(t) =
            parse_import("l.json", r#"["https://x/1.jpg", "https://x/2.jpg"]"#).unwrap()
        else {
            panic!()
        };
        assert_eq!(t.column(0), ["https://x/1.jpg", "https://x/2.jpg"]);
        let export = r#"{"items":[{"index":0,"image":"https://x/1.jpg","state":"done"},{"index":1,"image":"https://x/2.jpg"}]}"#;
        let Imported::Table(t) = parse_import("pacer-results.json", export).unwrap() else {
            panic!()
        };
        assert_eq!(t.url_columns()[0], (1, 2));
        assert!(parse_import("x.json", "{oops")
            .unwrap_err()
            .contains("not valid JSON"));
        assert!(parse_import("x.csv", "  ").unwrap_err().contains("empty"));
    }

    #[test]
    fn a_job_splits_into_parts_that_round_trip() {
        let run = SavedSettings::example().run_over(images(5), vec![4]);
        let items = vec![(1, failed()), (3, failed())];
        let parts = split_job(&run, &items, 2);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].run.sources.len(), 3);
        assert_eq!(parts[1].run.sources, ["https://x/3.jpg", "https://x/4.jpg"]);
        assert_eq!(parts[1].run.files, [1]);
        assert_eq!(parts[0].items.iter().map(|i| i.0).collect::<Vec<_>>(), [1]);
        assert_eq!(parts[1].items.iter().map(|i| i.0).collect::<Vec<_>>(), [0]);
        assert_eq!(parts[1].part, Some((2, 2)));
        let text = serde_json::to_string(&parts[1]).unwrap();
        assert!(!text.contains("key"));
        assert_eq!(
            parse_import("p.json", &text).unwrap(),
            Imported::Job(Box::new(parts[1].clone()))
        );
        // Parts of a run with an id are runs of their own, and their
        // items say so.
        let mut with_id = run.clone();
        with_id.id = Some(RunId::parse("r1").unwrap());
        let parts = split_job(&with_id, &items, 2);
        assert_eq!(parts[0].run.id.as_ref().unwrap().as_str(), "r1.1of2");
        assert_eq!(parts[1].items[0].1.run, parts[1].run.id);
        assert_eq!(split_job(&with_id, &items, 1)[0].run.id, with_id.id);
        // Whole, and never more parts than images.
        assert_eq!(split_job(&run, &items, 1)[0].part, None);
        assert_eq!(split_job(&run, &items, 99).len(), 5);
    }

    #[test]
    fn per_model_items_of_an_image_stay_in_one_part() {
        let mut s = SavedSettings::example();
        s.models = vec!["a".into(), "b".into(), "c".into()];
        s.per_model = true;
        let run = s.run_over(images(4), vec![]);
        // Image 1 × model c, and image 2 × model a.
        let items = vec![(5, failed()), (6, failed())];
        let parts = split_job(&run, &items, 2);
        assert_eq!(parts[0].run.sources.len(), 2);
        assert_eq!(parts[0].items.iter().map(|i| i.0).collect::<Vec<_>>(), [5]);
        assert_eq!(parts[1].items.iter().map(|i| i.0).collect::<Vec<_>>(), [0]);
        assert_eq!(parts[1].run.items_per_image(), 3);
    }
}

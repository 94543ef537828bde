//! The BBC archive the throughput benches read.

use std::path::Path;

use newsgist::request::Article;

/// The articles of `../shared/data/archive/bbc-2225.jsonl`, or `None` (with the reason
/// printed) when the shared data is absent or unreadable.
pub fn bbc_archive(bench: &str) -> Option<Vec<Article>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/archive/bbc-2225.jsonl");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) => {
            println!("skipping {bench} bench: cannot read {}: {e}", path.display());
            return None;
        }
    };
    let articles: Vec<Article> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| {
            Some(Article {
                id: v.get("id").and_then(|t| t.as_str()).unwrap_or_default().to_owned(),
                title: v.get("title").and_then(|t| t.as_str()).unwrap_or_default().to_owned(),
                body: v.get("body")?.as_str()?.to_owned(),
                ..Article::default()
            })
        })
        .collect();
    if articles.is_empty() {
        println!("skipping {bench} bench: no articles in {}", path.display());
        return None;
    }
    Some(articles)
}

//! Key facts of a dev set under every candidate [`Tuning`], for leave-one-event-out tuning.
//!
//! Usage: cargo run --release --example keyfacts_grid -- <dev.jsonl> <out dir>
//!
//! Writes `<out dir>/grid.tsv` (one line per candidate: its number and its values) and
//! `<out dir>/<number>.jsonl` (the batch output form, `{"id", "key_facts"}` per article).
//! Candidate 0 is [`Tuning::SHIPPED`]. `scripts/keyfacts/loeo.py` then chooses a candidate
//! on four events and scores it on the fifth with the shared scorer. Each article is
//! analysed as the service analyses it: its publication time anchors relative dates.

use std::io::Write;
use std::path::Path;

use newsgist::archive::input::{article_from_json, FieldNames};
use newsgist::facts::{extract_tuned, Tuning};
use newsgist::request::Article;

/// Facts per article, as the service returns by default.
const MAX_FACTS: usize = 5;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(dev), Some(out)) = (args.first(), args.get(1)) else {
        eprintln!("usage: keyfacts_grid <dev.jsonl> <out dir>");
        std::process::exit(2);
    };
    if let Err(e) = run(Path::new(dev), Path::new(out)) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run(dev: &Path, out: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let fields = FieldNames::default();
    let mut articles: Vec<Article> = Vec::new();
    for line in std::fs::read_to_string(dev)?.lines().filter(|l| !l.trim().is_empty()) {
        let (id, article) = article_from_json(line, &fields);
        articles.push(article.map_err(|e| format!("row {id}: {e}"))?);
    }
    std::fs::create_dir_all(out)?;
    let grid = candidates();
    let mut index = std::fs::File::create(out.join("grid.tsv"))?;
    for (n, tuning) in grid.iter().enumerate() {
        writeln!(index, "{n}\t{tuning:?}")?;
        let mut rows = std::io::BufWriter::new(std::fs::File::create(out.join(format!("{n}.jsonl")))?);
        for a in &articles {
            let anchor = a.published_at.unwrap_or_else(chrono::Utc::now).naive_utc();
            let facts = extract_tuned(a, anchor, MAX_FACTS, None, tuning);
            serde_json::to_writer(&mut rows, &serde_json::json!({"id": a.id, "key_facts": facts}))?;
            rows.write_all(b"\n")?;
        }
    }
    println!(
        "{} candidates x {} articles written to {}",
        grid.len(),
        articles.len(),
        out.display()
    );
    Ok(())
}

/// The shipped values first, then each knob moved over its range with the others at
/// their shipped values, then the pairs of knobs that interact (rank weights).
fn candidates() -> Vec<Tuning> {
    let base = Tuning::SHIPPED;
    let mut out = vec![base];
    let mut push = |t: Tuning| {
        if !out.contains(&t) {
            out.push(t);
        }
    };
    for n in 1..=5 {
        push(Tuning {
            time_context: n,
            ..base
        });
        push(Tuning {
            place_context: n,
            ..base
        });
    }
    for lead in [0.6, 0.7, 0.8, 0.9, 1.0] {
        for decay in [0.8, 0.9, 1.0] {
            push(Tuning {
                lead_weight: lead,
                lead_decay: decay,
                ..base
            });
        }
    }
    for filled in [0.0, 0.05, 0.1, 0.2] {
        for salience in [0.0, 0.1, 0.2, 0.3] {
            push(Tuning {
                filled_weight: filled,
                salience_weight: salience,
                ..base
            });
        }
    }
    for min_agency in 0..=3 {
        for weak_who_lead in [1, 2, 3] {
            push(Tuning {
                min_agency,
                weak_who_lead,
                ..base
            });
        }
    }
    push(Tuning {
        tagged_verbs_first: !base.tagged_verbs_first,
        ..base
    });
    for modifier_places in [false, true] {
        for lexicon_lead in [false, true] {
            push(Tuning {
                modifier_places,
                lexicon_lead,
                ..base
            });
        }
    }
    for further_sentences in [0, 10, 20] {
        for topic_overlap in [1, 2, 3] {
            push(Tuning {
                further_sentences,
                topic_overlap,
                ..base
            });
        }
    }
    for min_slot_confidence in [0.3, 0.35, 0.4, 0.45, 0.5, 0.55] {
        push(Tuning {
            min_slot_confidence,
            ..base
        });
    }
    for penalty in [0.0, 0.1, 0.3, 0.5] {
        push(Tuning {
            no_who_penalty: penalty,
            ..base
        });
    }
    out
}

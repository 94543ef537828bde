//! Scores `facts::timex::recognize` on TimeML (TempEval-3 style) and spot-checks news samples.
//!
//! ```text
//! cargo run --release --example eval_timex -- ../shared/data/timex/tbaq \
//!     [--errors N] [--sample FILE --anchor 2018-06-19T00:00] [--keyfacts FILE]
//! ```
//!
//! Gold: every TIMEX3 inside each document's `<TEXT>`, whatever its `functionInDocument`
//! (the creation-time TIMEX3 sits in `<DCT>`, outside the text, and anchors the document).
//! Extent: strict = same span, relaxed = overlap. Type and value are compared on relaxed
//! matches (each gold paired with the system expression overlapping it most), as TempEval-3
//! does; value F1 uses correct values over all system and all gold expressions. Week values are
//! compared with zero-padded week numbers ("2000-W7" equals "2000-W07").

use chrono::{NaiveDate, NaiveDateTime};
use newsgist::facts::timex::{recognize, TimeExpression, TimexType};
use std::ops::Range;
use std::path::{Path, PathBuf};

struct Gold {
    range: Range<usize>,
    kind: String,
    value: String,
    /// `functionInDocument` other than NONE (a creation or publication time in the body).
    document_time: bool,
}

struct Doc {
    name: String,
    dct: NaiveDateTime,
    text: String,
    gold: Vec<Gold>,
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let key = format!("{name}=\"");
    let s = tag.find(&key)? + key.len();
    let e = tag[s..].find('"')? + s;
    Some(tag[s..e].to_string())
}

fn parse_dt(v: &str) -> Option<NaiveDateTime> {
    for f in [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(d) = NaiveDateTime::parse_from_str(v, f) {
            return Some(d);
        }
    }
    NaiveDate::parse_from_str(v.get(..10)?, "%Y-%m-%d")
        .ok()?
        .and_hms_opt(0, 0, 0)
}

fn decode_entity(e: &str) -> Option<char> {
    match e {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => {
            let n = e.strip_prefix('#')?;
            let code = match n.strip_prefix('x') {
                Some(h) => u32::from_str_radix(h, 16).ok()?,
                None => n.parse().ok()?,
            };
            char::from_u32(code)
        }
    }
}

/// Plain text of the `<TEXT>` element with the TIMEX3 spans as offsets into it.
fn parse_tml(path: &Path) -> Option<Doc> {
    let raw = std::fs::read_to_string(path).ok()?;
    let dct_tag_start = raw.find("functionInDocument=\"CREATION_TIME\"")?;
    let tag_start = raw[..dct_tag_start].rfind('<')?;
    let tag_end = raw[tag_start..].find('>')? + tag_start;
    let dct = parse_dt(&attr(&raw[tag_start..tag_end], "value")?)?;
    let body_start = raw.find("<TEXT>")? + "<TEXT>".len();
    let body_end = raw.find("</TEXT>")?;
    let body = &raw[body_start..body_end];
    let mut text = String::with_capacity(body.len());
    let mut gold = Vec::new();
    let mut open: Option<(usize, String, String, bool)> = None;
    let mut i = 0;
    while i < body.len() {
        let rest = &body[i..];
        if rest.starts_with('<') {
            let end = rest.find('>')?;
            let tag = &rest[1..end];
            if tag.starts_with("TIMEX3") {
                open = Some((
                    text.len(),
                    attr(tag, "type").unwrap_or_default(),
                    attr(tag, "value").unwrap_or_default(),
                    attr(tag, "functionInDocument").is_some_and(|f| f != "NONE"),
                ));
            } else if tag.starts_with("/TIMEX3") {
                if let Some((s, kind, value, document_time)) = open.take() {
                    gold.push(Gold {
                        range: s..text.len(),
                        kind,
                        value,
                        document_time,
                    });
                }
            }
            i += end + 1;
        } else if rest.starts_with('&') {
            match rest.find(';').filter(|&e| e <= 10) {
                Some(e) => match decode_entity(&rest[1..e]) {
                    Some(c) => {
                        text.push(c);
                        i += e + 1;
                    }
                    None => {
                        text.push('&');
                        i += 1;
                    }
                },
                None => {
                    text.push('&');
                    i += 1;
                }
            }
        } else {
            let c = rest.chars().next()?;
            text.push(c);
            i += c.len_utf8();
        }
    }
    Some(Doc {
        name: path.display().to_string(),
        dct,
        text,
        gold,
    })
}

fn collect_tml(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect_tml(&p, out);
        } else if p.extension().is_some_and(|x| x == "tml") {
            out.push(p);
        }
    }
}

fn type_name(k: TimexType) -> &'static str {
    match k {
        TimexType::Date => "DATE",
        TimexType::Time => "TIME",
        TimexType::Duration => "DURATION",
        TimexType::Set => "SET",
    }
}

/// Zero-pads ISO week numbers so that "2000-W7" and "2000-W07" compare equal.
fn canonical_value(v: &str) -> String {
    match v.split_once("-W") {
        Some((y, rest)) if y.len() == 4 => {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            if digits.len() == 1 {
                format!("{y}-W0{rest}")
            } else {
                v.to_string()
            }
        }
        _ => v.to_string(),
    }
}

fn overlap(a: &Range<usize>, b: &Range<usize>) -> usize {
    a.end.min(b.end).saturating_sub(a.start.max(b.start))
}

fn prf(tp_p: usize, n_sys: usize, tp_r: usize, n_gold: usize) -> (f64, f64, f64) {
    let p = if n_sys == 0 { 0.0 } else { tp_p as f64 / n_sys as f64 };
    let r = if n_gold == 0 { 0.0 } else { tp_r as f64 / n_gold as f64 };
    let f = if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) };
    (100.0 * p, 100.0 * r, 100.0 * f)
}

#[derive(Default)]
struct Counts {
    gold: usize,
    sys: usize,
    strict_gold: usize,
    strict_sys: usize,
    relaxed_gold: usize,
    relaxed_sys: usize,
    type_ok: usize,
    value_ok: usize,
}

fn snippet(text: &str, r: &Range<usize>) -> String {
    text[r.clone()].replace('\n', " ")
}

fn score(docs: &[Doc], max_errors: usize) -> Counts {
    let mut c = Counts::default();
    let mut errors: Vec<String> = Vec::new();
    for d in docs {
        let sys = recognize(&d.text, d.dct);
        c.gold += d.gold.len();
        c.sys += sys.len();
        c.strict_sys += sys.iter().filter(|s| d.gold.iter().any(|g| g.range == s.range)).count();
        c.relaxed_sys += sys
            .iter()
            .filter(|s| d.gold.iter().any(|g| overlap(&g.range, &s.range) > 0))
            .count();
        for g in &d.gold {
            if sys.iter().any(|s| s.range == g.range) {
                c.strict_gold += 1;
            }
            let best: Option<&TimeExpression> = sys
                .iter()
                .filter(|s| overlap(&g.range, &s.range) > 0)
                .max_by_key(|s| overlap(&g.range, &s.range));
            let Some(s) = best else {
                errors.push(format!(
                    "MISS  {} [{}] {} {}  (dct {})",
                    snippet(&d.text, &g.range),
                    g.kind,
                    g.value,
                    d.name,
                    d.dct
                ));
                continue;
            };
            c.relaxed_gold += 1;
            if s.range != g.range {
                errors.push(format!(
                    "SPAN  gold {:?} sys {:?}",
                    snippet(&d.text, &g.range),
                    snippet(&d.text, &s.range)
                ));
            }
            if type_name(s.kind) == g.kind {
                c.type_ok += 1;
            }
            if canonical_value(&s.value) == canonical_value(&g.value) {
                c.value_ok += 1;
            } else {
                errors.push(format!(
                    "VALUE {:?} gold={} ({:?}) sys={} dct={}",
                    snippet(&d.text, &g.range),
                    g.value,
                    snippet(&d.text, &s.range),
                    s.value,
                    d.dct
                ));
            }
        }
        for s in &sys {
            if !d.gold.iter().any(|g| overlap(&g.range, &s.range) > 0) {
                errors.push(format!("SPUR  {:?} {} {}", snippet(&d.text, &s.range), s.value, d.name));
            }
        }
    }
    for e in errors.iter().take(max_errors) {
        println!("{e}");
    }
    c
}

fn print_expressions(text: &str, anchor: NaiveDateTime) {
    for e in recognize(text, anchor) {
        println!(
            "  {:>5}..{:<5} {:<8} {:<26} iso={:<24} {:?}",
            e.range.start,
            e.range.end,
            type_name(e.kind),
            e.value,
            e.iso8601().unwrap_or_default(),
            snippet(text, &e.range)
        );
    }
}

/// For each gold `when` phrase of the key-fact set: the expression found there, if any.
fn keyfacts(path: &Path) {
    let Ok(raw) = std::fs::read_to_string(path) else {
        println!("keyfacts: cannot read {}", path.display());
        return;
    };
    let (mut phrases, mut located, mut covered, mut same_day) = (0, 0, 0, 0);
    for line in raw.lines().filter(|l| !l.trim().is_empty()) {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let field = |k: &str| v[k].as_str().unwrap_or("").to_string();
        let Some(anchor) = parse_dt(&field("published_at")) else {
            continue;
        };
        let text = format!("{}\n\n{}\n\n{}", field("title"), field("description"), field("body"));
        let found = recognize(&text, anchor);
        for w in v["gold"]["when"].as_array().into_iter().flatten() {
            let phrase = w["text"].as_str().unwrap_or("").trim();
            let parsed = w["parsed"].as_str().unwrap_or("");
            phrases += 1;
            let Some(pos) = text.find(phrase).filter(|_| !phrase.is_empty()) else {
                println!("  {anchor} {phrase:?} (gold {parsed}): phrase not in text");
                continue;
            };
            located += 1;
            let r = pos..pos + phrase.len();
            let hit = found.iter().find(|e| overlap(&e.range, &r) > 0);
            match hit {
                Some(e) => {
                    covered += 1;
                    let start = e.interval.map(|(a, _)| a.to_string()).unwrap_or_default();
                    if start == parsed {
                        same_day += 1;
                    }
                    println!(
                        "  {anchor} {phrase:?} (gold {parsed}) -> {:?} {} iso={}",
                        snippet(&text, &e.range),
                        e.value,
                        e.iso8601().unwrap_or_default()
                    );
                }
                None => println!("  {anchor} {phrase:?} (gold {parsed}) -> nothing"),
            }
        }
    }
    println!(
        "keyfacts when: {phrases} gold phrases, {located} found verbatim in the article, \
         {covered} overlapped by an expression, {same_day} whose first day equals gold `parsed`"
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut folder = None;
    let mut max_errors = 0;
    let mut sample = None;
    let mut anchor = None;
    let mut kf = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--errors" => max_errors = it.next().and_then(|n| n.parse().ok()).unwrap_or(50),
            "--sample" => sample = it.next().cloned(),
            "--anchor" => anchor = it.next().and_then(|s| parse_dt(s)),
            "--keyfacts" => kf = it.next().cloned(),
            _ => folder = Some(a.clone()),
        }
    }
    if let Some(folder) = folder {
        let mut files = Vec::new();
        collect_tml(Path::new(&folder), &mut files);
        files.sort();
        let docs: Vec<Doc> = files.iter().filter_map(|p| parse_tml(p)).collect();
        let started = std::time::Instant::now();
        let c = score(&docs, max_errors);
        let secs = started.elapsed().as_secs_f64();
        let doc_times: usize = docs
            .iter()
            .map(|d| d.gold.iter().filter(|g| g.document_time).count())
            .sum();
        println!(
            "TimeML: {} files, {} parsed, {} gold TIMEX3 in <TEXT>, {} system expressions",
            files.len(),
            docs.len(),
            c.gold,
            c.sys
        );
        println!(
            "gold = every TIMEX3 inside <TEXT>, including {doc_times} marked as a creation or \
             publication time; the <DCT> TIMEX3 is the anchor and is not scored"
        );
        let (p, r, f) = prf(c.strict_sys, c.sys, c.strict_gold, c.gold);
        println!("extent strict   P {p:5.1}  R {r:5.1}  F1 {f:5.1}");
        let (p, r, f) = prf(c.relaxed_sys, c.sys, c.relaxed_gold, c.gold);
        println!("extent relaxed  P {p:5.1}  R {r:5.1}  F1 {f:5.1}");
        let pct = |n: usize| 100.0 * n as f64 / c.relaxed_gold.max(1) as f64;
        let (_, _, tf) = prf(c.type_ok, c.sys, c.type_ok, c.gold);
        let (vp, vr, vf) = prf(c.value_ok, c.sys, c.value_ok, c.gold);
        println!(
            "type  accuracy {:5.1} (over {} relaxed matches)  type F1 {tf:5.1}",
            pct(c.type_ok),
            c.relaxed_gold
        );
        println!(
            "value accuracy {:5.1} (over {} relaxed matches)  value P {vp:5.1}  R {vr:5.1}  F1 {vf:5.1}",
            pct(c.value_ok),
            c.relaxed_gold
        );
        println!("time: {:.1} ms for {} documents", secs * 1000.0, docs.len());
    }
    if let Some(path) = sample {
        let anchor = anchor.unwrap_or_else(|| chrono::Local::now().naive_local());
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                println!("sample {path} (anchor {anchor}):");
                print_expressions(&text, anchor);
            }
            Err(e) => println!("sample {path}: {e}"),
        }
    }
    if let Some(path) = kf {
        keyfacts(Path::new(&path));
    }
}

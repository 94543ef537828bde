//! Trains the embedded NLP models from the GUM corpus and reports test-set figures.
//!
//! Usage: cargo run --release --example train_nlp -- <gum dir> <model dir>
//!            [--silver names.iob]... [--eval-names wikigold.conll]...
//! e.g.   cargo run --release --example train_nlp -- ../shared/data/gum models/nlp \
//!            --silver ~/.cache/newsgist/keyfacts-silver/silver.iob \
//!            --eval-names ../shared/data/ner/wikigold.conll
//! `--eval-only` scores the bundle already in `<model dir>` and trains nothing.
//!
//! `<gum dir>` holds `splits.md` and `dep/*.conllu`. Training uses the official train split,
//! the dev and test splits are only evaluated. `--silver` files (name-only IOB, e.g. the
//! teacher's annotations of news written by `scripts/keyfacts/silver_entities.py`) add named
//! person/place/organization examples to the inner entity layer; `--eval-names` files are
//! only scored (wikigold is an evaluation set: nothing trains on it). Everything is seeded,
//! so reruns give byte-identical models.

use std::collections::HashSet;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Instant;

use newsgist::nlp::conllu::{self, GoldMention, GoldSentence};
use newsgist::nlp::entities::{gold_layer, intern_all, Layer};
use newsgist::nlp::tokenize::tokenize;
use newsgist::nlp::{EntityKind, EntityTagger, Labeller, Parser, Pipeline, Tagger, Upos};

const SEED: u64 = 20_170_101;
const TAGGER_EPOCHS: usize = 8;
const PARSER_EPOCHS: usize = 12;
const LABELLER_EPOCHS: usize = 8;
const ENTITY_EPOCHS: usize = 8;
const JACKKNIFE_FOLDS: usize = 5;
/// Feature rows kept per model (those with the largest weights): model size and cache
/// footprint, hence speed, against accuracy; tuned on dev.
const TAGGER_ROWS: usize = 40_000;
const PARSER_ROWS: usize = 150_000;
const LABELLER_ROWS: usize = 50_000;
const ENTITY_ROWS: usize = 100_000;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = || -> ! {
        eprintln!(
            "usage: train_nlp <gum dir> <model dir> [--silver names.iob]... [--eval-names names.iob]... [--eval-only]"
        );
        std::process::exit(2);
    };
    let (Some(gum), Some(out)) = (args.first(), args.get(1)) else {
        usage();
    };
    let (mut silver, mut eval_names, mut eval_only) = (Vec::new(), Vec::new(), false);
    let mut rest = args[2..].iter();
    while let Some(flag) = rest.next() {
        if flag == "--eval-only" {
            eval_only = true;
            continue;
        }
        let Some(path) = rest.next().map(PathBuf::from) else {
            usage();
        };
        match flag.as_str() {
            "--silver" => silver.push(path),
            "--eval-names" => eval_names.push(path),
            _ => usage(),
        }
    }
    let result = if eval_only {
        evaluate_saved(Path::new(gum), Path::new(out), &eval_names)
    } else {
        run(Path::new(gum), &PathBuf::from(out), &silver, &eval_names)
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run(gum: &Path, out: &Path, silver: &[PathBuf], eval_names: &[PathBuf]) -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let splits = conllu::parse_splits(&std::fs::read_to_string(gum.join("splits.md"))?);
    let dep = gum.join("dep");
    let (train, n_train) = conllu::load_documents(&dep, &splits.train)?;
    let (dev, n_dev) = conllu::load_documents(&dep, &splits.dev)?;
    let (test, n_test) = conllu::load_documents(&dep, &splits.test)?;
    let words = |s: &[GoldSentence]| s.iter().map(|x| x.words.len()).sum::<usize>();
    println!(
        "GUM documents found: train {n_train}/{} ({} sents, {} words), dev {n_dev}/{} ({} words), test {n_test}/{} ({} sents, {} words)",
        splits.train.len(), train.len(), words(&train),
        splits.dev.len(), words(&dev),
        splits.test.len(), test.len(), words(&test)
    );

    // Jack-knifed tags, so the parser and entity tagger train on realistic (noisy) tags.
    let t = Instant::now();
    let mut jk_tags: Vec<Vec<Upos>> = vec![Vec::new(); train.len()];
    for fold in 0..JACKKNIFE_FOLDS {
        let (held, rest): (Vec<usize>, Vec<usize>) = (0..train.len()).partition(|i| i % JACKKNIFE_FOLDS == fold);
        let part: Vec<GoldSentence> = rest.iter().map(|&i| train[i].clone()).collect();
        let tagger = Tagger::train(&part, TAGGER_EPOCHS, SEED + fold as u64, TAGGER_ROWS);
        for i in held {
            jk_tags[i] = tagger.tag(&train[i].word_refs());
        }
    }
    let jk_acc = accuracy(train.iter().zip(&jk_tags).flat_map(|(s, t)| s.upos.iter().zip(t)));
    println!(
        "jack-knifed train tags: {:.2}% ({:.1}s)",
        100.0 * jk_acc,
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let tagger = Tagger::train(&train, TAGGER_EPOCHS, SEED, TAGGER_ROWS);
    println!("tagger: {} rows ({:.1}s)", tagger.size(), t.elapsed().as_secs_f64());
    let t = Instant::now();
    let parser = Parser::train(&train, &jk_tags, PARSER_EPOCHS, SEED, PARSER_ROWS);
    println!("parser: {} rows ({:.1}s)", parser.size(), t.elapsed().as_secs_f64());
    let t = Instant::now();
    let labeller = Labeller::train(&train, &jk_tags, LABELLER_EPOCHS, SEED, LABELLER_ROWS);
    println!("labeller: {} rows ({:.1}s)", labeller.size(), t.elapsed().as_secs_f64());
    let t = Instant::now();
    let mut analyses: Vec<_> = train
        .iter()
        .zip(&jk_tags)
        .map(|(s, tags)| (tags.clone(), s.heads.clone(), intern_all(&s.deprels)))
        .collect();
    let mut entity_train = train.clone();
    for path in silver {
        // Name-only NER data has no trees: the features see the trained models' analysis.
        let extra = conllu::parse_iob(&std::fs::read_to_string(path)?);
        for s in &extra {
            let words = s.word_refs();
            let tags = tagger.tag(&words);
            let heads = parser.parse(&words, &tags);
            let rels = labeller.label(&words, &tags, &heads);
            analyses.push((tags, heads, rels));
        }
        println!(
            "extra name-only sentences for the inner entity layer: {} from {}",
            extra.len(),
            path.display()
        );
        entity_train.extend(extra);
    }
    let entities = EntityTagger::train(&entity_train, &analyses, ENTITY_EPOCHS, SEED, ENTITY_ROWS);
    println!("entities: {} rows ({:.1}s)", entities.size(), t.elapsed().as_secs_f64());

    Pipeline::new(tagger, parser, labeller, entities).save(out)?;
    let bytes = std::fs::read(out.join(newsgist::nlp::MODEL_FILE))?;
    let t = Instant::now();
    let pipeline = Pipeline::from_bytes(&bytes)?;
    println!(
        "model bundle: {} ({:.2} MB), loads in {:.1} ms",
        out.join(newsgist::nlp::MODEL_FILE).display(),
        bytes.len() as f64 / 1e6,
        t.elapsed().as_secs_f64() * 1e3
    );
    println!("training total: {:.1}s", started.elapsed().as_secs_f64());

    println!("\n== dev (gold tokens) ==");
    evaluate(&pipeline, &dev);
    println!("\n== test (gold tokens) ==");
    evaluate(&pipeline, &test);
    for path in eval_names {
        println!("\n== {} (name-only gold, PER/LOC/ORG) ==", path.display());
        evaluate_names(&pipeline, &conllu::parse_iob(&std::fs::read_to_string(path)?));
    }
    println!("\n== test tokenisation (from # text lines) ==");
    tokenisation(&test);
    println!("\n== throughput (analyze on test # text sentences, one thread) ==");
    throughput(&pipeline, &test);
    Ok(())
}

/// `--eval-only`: the figures of the bundle already in `<model dir>`, nothing trained.
fn evaluate_saved(gum: &Path, dir: &Path, eval_names: &[PathBuf]) -> Result<(), Box<dyn std::error::Error>> {
    let splits = conllu::parse_splits(&std::fs::read_to_string(gum.join("splits.md"))?);
    let (test, _) = conllu::load_documents(&gum.join("dep"), &splits.test)?;
    let pipeline = Pipeline::from_dir(dir)?;
    println!("== {} on GUM test (gold tokens) ==", dir.display());
    evaluate(&pipeline, &test);
    for path in eval_names {
        println!("\n== {} (name-only gold, PER/LOC/ORG) ==", path.display());
        evaluate_names(&pipeline, &conllu::parse_iob(&std::fs::read_to_string(path)?));
    }
    Ok(())
}

fn accuracy<'a>(pairs: impl Iterator<Item = (&'a Upos, &'a Upos)>) -> f64 {
    let (mut ok, mut n) = (0usize, 0usize);
    for (a, b) in pairs {
        ok += usize::from(a == b);
        n += 1;
    }
    ok as f64 / n.max(1) as f64
}

#[derive(Default)]
struct Prf {
    tp: usize,
    pred: usize,
    gold: usize,
}

impl Prf {
    fn add<T: Eq + std::hash::Hash>(&mut self, gold: &HashSet<T>, pred: &HashSet<T>) {
        self.tp += gold.intersection(pred).count();
        self.pred += pred.len();
        self.gold += gold.len();
    }

    fn line(&self) -> String {
        let p = self.tp as f64 / self.pred.max(1) as f64;
        let r = self.tp as f64 / self.gold.max(1) as f64;
        let f = if p + r > 0.0 { 2.0 * p * r / (p + r) } else { 0.0 };
        format!(
            "P {:.2} R {:.2} F1 {:.2} (gold {}, predicted {})",
            100.0 * p,
            100.0 * r,
            100.0 * f,
            self.gold,
            self.pred
        )
    }
}

type Span = (usize, usize, &'static str);

fn span(r: &Range<usize>, k: EntityKind) -> Span {
    (r.start, r.end, k.as_str())
}

fn is_named(k: EntityKind) -> bool {
    matches!(k, EntityKind::Person | EntityKind::Place | EntityKind::Organization)
}

fn evaluate(p: &Pipeline, sents: &[GoldSentence]) {
    let (mut tag_ok, mut n) = (0usize, 0usize);
    let (mut uas, mut las, mut np, mut uas_np, mut las_np) = (0usize, 0usize, 0usize, 0usize, 0usize);
    let (mut layers, mut all, mut named) = (Prf::default(), Prf::default(), Prf::default());
    let mut per_kind: Vec<Prf> = EntityKind::ALL.iter().map(|_| Prf::default()).collect();
    let mut named_kind: Vec<Prf> = NAMED.iter().map(|_| Prf::default()).collect();
    for s in sents {
        let a = p.analyze_words(&s.word_refs());
        for i in 0..s.words.len() {
            n += 1;
            tag_ok += usize::from(a.upos[i] == s.upos[i]);
            let head_ok = a.heads[i] == s.heads[i];
            let label_ok = head_ok && a.deprels[i] == s.deprels[i];
            uas += usize::from(head_ok);
            las += usize::from(label_ok);
            if s.upos[i] != Upos::Punct {
                np += 1;
                uas_np += usize::from(head_ok);
                las_np += usize::from(label_ok);
            }
        }
        let mut gold_layers: Vec<GoldMention> = gold_layer(&s.mentions, Layer::Outer);
        gold_layers.extend(gold_layer(&s.mentions, Layer::Inner));
        let gl: HashSet<Span> = gold_layers.iter().map(|m| span(&m.tokens, m.kind)).collect();
        let ga: HashSet<Span> = s.mentions.iter().map(|m| span(&m.tokens, m.kind)).collect();
        let pr: HashSet<Span> = a.entities.iter().map(|m| span(&m.tokens, m.kind)).collect();
        layers.add(&gl, &pr);
        all.add(&ga, &pr);
        let gn: HashSet<Span> = s
            .mentions
            .iter()
            .filter(|m| is_named(m.kind) && m.tokens.clone().any(|i| s.upos[i] == Upos::Propn))
            .map(|m| span(&m.tokens, m.kind))
            .collect();
        let pn: HashSet<Span> = a
            .entities
            .iter()
            .filter(|m| is_named(m.kind) && m.proper)
            .map(|m| span(&m.tokens, m.kind))
            .collect();
        named.add(&gn, &pn);
        add_per_kind(&mut named_kind, &gn, &pn);
        for (k, prf) in EntityKind::ALL.iter().zip(per_kind.iter_mut()) {
            let g = gl.iter().filter(|x| x.2 == k.as_str()).copied().collect();
            let q = pr.iter().filter(|x| x.2 == k.as_str()).copied().collect();
            prf.add(&g, &q);
        }
    }
    let pct = |a: usize, b: usize| 100.0 * a as f64 / b.max(1) as f64;
    println!("UPOS accuracy: {:.2}% ({n} words)", pct(tag_ok, n));
    println!(
        "UAS {:.2}  LAS {:.2}  (punctuation included, {n} words)",
        pct(uas, n),
        pct(las, n)
    );
    println!(
        "UAS {:.2}  LAS {:.2}  (punctuation excluded, {np} words)",
        pct(uas_np, np),
        pct(las_np, np)
    );
    println!(
        "entity F1, exact span+type, vs gold outer+inner layers: {}",
        layers.line()
    );
    println!("entity F1, exact span+type, vs all gold mentions:       {}", all.line());
    println!(
        "named person/place/organization F1 (gold span has PROPN, predicted proper): {}",
        named.line()
    );
    for (k, prf) in NAMED.iter().zip(&named_kind) {
        println!("  named {:<13} {}", k.as_str(), prf.line());
    }
    println!("per type, vs gold outer+inner layers:");
    for (k, prf) in EntityKind::ALL.iter().zip(&per_kind) {
        println!("  {:<13} {}", k.as_str(), prf.line());
    }
}

/// The three named-entity types key facts use.
const NAMED: [EntityKind; 3] = [EntityKind::Person, EntityKind::Place, EntityKind::Organization];

fn add_per_kind(prfs: &mut [Prf], gold: &HashSet<Span>, pred: &HashSet<Span>) {
    for (k, prf) in NAMED.iter().zip(prfs.iter_mut()) {
        let g = gold.iter().filter(|x| x.2 == k.as_str()).copied().collect();
        let q = pred.iter().filter(|x| x.2 == k.as_str()).copied().collect();
        prf.add(&g, &q);
    }
}

/// Name-only gold (wikigold): exact span and type of each person, place and organisation
/// name against the proper-name part of the predicted mentions (GUM's mentions include
/// titles and determiners that NER data leaves out).
fn evaluate_names(p: &Pipeline, sents: &[GoldSentence]) {
    let (mut all, mut per_kind) = (Prf::default(), NAMED.map(|_| Prf::default()));
    for s in sents {
        let a = p.analyze_words(&s.word_refs());
        let gold: HashSet<Span> = s.mentions.iter().map(|m| span(&m.tokens, m.kind)).collect();
        let pred: HashSet<Span> = a
            .entities
            .iter()
            .filter(|m| is_named(m.kind) && m.proper)
            .filter_map(|m| m.name_tokens.as_ref().map(|r| span(r, m.kind)))
            .collect();
        all.add(&gold, &pred);
        add_per_kind(&mut per_kind, &gold, &pred);
    }
    println!("named person/place/organization F1: {}", all.line());
    for (k, prf) in NAMED.iter().zip(&per_kind) {
        println!("  {:<13} {}", k.as_str(), prf.line());
    }
}

/// Byte spans of gold words in the `# text` line, or `None` where a word is not found
/// verbatim (e.g. normalised forms).
fn gold_spans(s: &GoldSentence) -> Option<Vec<Range<usize>>> {
    let mut pos = 0;
    let mut out = Vec::new();
    for w in &s.words {
        let rest = s.text.get(pos..)?;
        let skip = rest.len() - rest.trim_start().len();
        let at = pos + skip;
        if !s.text.get(at..)?.starts_with(w.as_str()) {
            return None;
        }
        out.push(at..at + w.len());
        pos = at + w.len();
    }
    Some(out)
}

fn tokenisation(sents: &[GoldSentence]) {
    let (mut prf, mut exact, mut used, mut skipped) = (Prf::default(), 0usize, 0usize, 0usize);
    for s in sents {
        let Some(gold) = gold_spans(s) else {
            skipped += 1;
            continue;
        };
        used += 1;
        let pred = tokenize(&s.text, 0..s.text.len());
        exact += usize::from(pred == gold);
        let g: HashSet<(usize, usize)> = gold.iter().map(|r| (r.start, r.end)).collect();
        let p: HashSet<(usize, usize)> = pred.iter().map(|r| (r.start, r.end)).collect();
        prf.add(&g, &p);
    }
    println!("token spans vs gold words: {}", prf.line());
    println!(
        "sentences tokenised exactly: {exact}/{used} ({:.1}%); {skipped} sentences skipped (gold words not verbatim in text)",
        100.0 * exact as f64 / used.max(1) as f64
    );
}

/// CPU seconds used by this process (Linux `/proc`), so throughput can be read even when
/// other jobs share the cores; `None` elsewhere.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn throughput(p: &Pipeline, sents: &[GoldSentence]) {
    let texts: Vec<&str> = sents.iter().map(|s| s.text.as_str()).collect();
    let words: usize = sents.iter().map(|s| s.words.len()).sum();
    let stage = |name: &str, f: &dyn Fn(&str, &[&str]) -> usize| {
        let mut tokens = 0usize;
        let cpu = cpu_seconds();
        let t = Instant::now();
        while t.elapsed().as_secs_f64() < 3.0 {
            for (s, text) in sents.iter().zip(&texts) {
                tokens += f(text, &s.word_refs());
            }
        }
        let wall = t.elapsed().as_secs_f64();
        let cpu = cpu.zip(cpu_seconds()).map(|(a, b)| b - a);
        println!(
            "  {name}: {:.0} tokens/s wall, {} ({tokens} tokens)",
            tokens as f64 / wall,
            cpu.map_or("cpu time unavailable".into(), |c| format!(
                "{:.0} tokens/s cpu",
                tokens as f64 / c
            ))
        );
    };
    stage("tagger (gold words)", &|_, w| p.tagger().tag(w).len());
    stage("tagger+parser (gold words)", &|_, w| {
        p.parser().parse(w, &p.tagger().tag(w)).len()
    });
    stage("full analysis (gold words)", &|_, w| p.analyze_words(w).upos.len());
    stage("analyze(): tokenise + full analysis", &|text, _| {
        p.analyze(text, 0..text.len()).tokens.len()
    });
    println!("  ({} sentences, {words} gold words per pass)", sents.len());
}

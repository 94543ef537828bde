//! Abstractive speed: the first N CNN/DailyMail articles of the dev set through newsgist's
//! abstractive model at batch 1 and batched, with a fixed output length (min = max tokens)
//! so that the work is the same whatever the weights say. Each article is first cut to
//! the model's window (whole sentences), so that newsgist's chunking and transformers'
//! truncation see the same single-window input; the cut articles are written to
//! target/bench-abstractive/articles.jsonl for the Python half
//! (benches/abstractive_transformers.py --data). `make bench-abstractive` runs both.
//!
//! `--quantize int8` loads the weights as int8. Besides speed and memory (resident after
//! load, and at peak) it prints seconds per generation stage for each pass (see
//! `newsgist::seq2seq::StageTimes`), the profile that says where the time went.
//!
//! Usage: cargo bench --bench abstractive -- MODEL_DIR [--n 6] [--beams 4] [--length 60]
//!        [--threads 2] [--batch-size 3] [--quantize none|int8]

use std::{io::Write, path::PathBuf, time::Instant};

#[path = "common/abstractive_args.rs"]
mod abstractive_args;

use abstractive_args::Args;

use newsgist::{
    models::{ModelProfile, Placement},
    request::AbstractiveParams,
    summarize::abstractive::{plan_chunks, AbstractiveModel},
};

/// A `VmRSS:` (resident now) or `VmHWM:` (peak resident) line of /proc/self/status, in MiB.
fn resident_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    let args = Args::parse();
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/summarization/dev.jsonl");
    let Ok(dev) = std::fs::read_to_string(data) else {
        println!("skipping: {data} is absent (the shared dev data is not beside this checkout)");
        return;
    };
    if !args.model_dir.join("config.json").is_file() {
        println!(
            "skipping: no model at {:?}; make one with models/make_fixtures.py --bench-bart-large",
            args.model_dir
        );
        return;
    }
    tch::set_num_threads(i32::try_from(args.threads).expect("--threads fits an i32"));
    let mut profile = ModelProfile::from_dir("bench", &args.model_dir).expect("model directory");
    profile.quantization = args.quantize;
    let loaded = Instant::now();
    let model = AbstractiveModel::load(&profile, Placement::CPU).expect("model loads");
    let load_s = loaded.elapsed().as_secs_f64();
    let rss_after_load = resident_mib("VmRSS:");
    let peak_at_load = resident_mib("VmHWM:");

    let budget = profile.max_input_tokens - 2;
    let articles: Vec<String> = dev
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|row| row["source"] == "cnndm")
        .take(args.n)
        .map(|row| {
            let body = row["body"].as_str().unwrap_or_default();
            plan_chunks(body, budget, |s| model.count_tokens(s))
                .into_iter()
                .next()
                .unwrap_or_default()
        })
        .collect();
    let out_dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target/bench-abstractive"));
    std::fs::create_dir_all(&out_dir).unwrap();
    let mut file = std::fs::File::create(out_dir.join("articles.jsonl")).unwrap();
    for body in &articles {
        writeln!(file, "{}", serde_json::json!({"source": "cnndm", "body": body})).unwrap();
    }

    let params = AbstractiveParams {
        model: None,
        min_tokens: Some(args.length),
        max_tokens: Some(args.length),
        num_beams: Some(args.beams),
    };
    // Warm-up, as the Python engines get: first-call allocations and lazy initialisation.
    model.summarize(&articles[0], &params).expect("generation");
    model.take_stage_times();
    let mut batch1 = Vec::new();
    let started = Instant::now();
    for article in &articles {
        let t = Instant::now();
        let output = model.summarize(article, &params).expect("generation");
        assert_eq!(output.chunks, 1, "articles are cut to one window");
        batch1.push(t.elapsed().as_secs_f64());
    }
    let batch1_total = started.elapsed().as_secs_f64();
    let batch1_stages = model.take_stage_times();
    let started = Instant::now();
    for group in articles.chunks(args.batch_size) {
        let texts: Vec<&str> = group.iter().map(String::as_str).collect();
        model.summarize_many(&texts, &params).expect("generation");
    }
    let batched_total = started.elapsed().as_secs_f64();
    let batched_stages = model.take_stage_times();
    let n = articles.len() as f64;
    let mut sorted = batch1.clone();
    sorted.sort_by(f64::total_cmp);
    let result = serde_json::json!({
        "engine": format!("newsgist (own seq2seq on tch 0.17, libtorch 2.4.0), weights {:?}", args.quantize),
        "articles": articles.len(),
        "beams": args.beams,
        "output_tokens": args.length,
        "threads": args.threads,
        "load_s": load_s,
        "batch_1": {"articles_per_s": n / batch1_total, "s_per_article_mean": batch1_total / n,
                    "s_per_article_p50": sorted[sorted.len() / 2], "stages": batch1_stages},
        "batched": {"batch_size": args.batch_size, "articles_per_s": n / batched_total,
                    "s_per_article": batched_total / n, "stages": batched_stages},
        "rss_after_load_mib": rss_after_load,
        "peak_rss_at_load_mib": peak_at_load,
        "peak_rss_mib": resident_mib("VmHWM:"),
    });
    println!("{}", serde_json::to_string_pretty(&result).unwrap());
}

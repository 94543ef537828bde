//! How closely int8 weights follow float32 ones: for each model directory given, the first
//! N CNN/DailyMail dev articles (cut to the model's window) are decoded greedily with float32
//! weights, and both loadings are then fed that output (teacher forcing) to compare their
//! next-token logits position by position: mean and max absolute difference, and how often
//! the top token agrees. Last, int8's own greedy output (no n-gram ban, no minimum length)
//! is compared with float32's: the share of identical sequences. README's "int8 weights" section quotes the figures.
//!
//! Usage: cargo bench --bench abstractive_fidelity -- [--n 6] [--length 60] MODEL_DIR...

use newsgist::{
    models::{ModelProfile, Placement, Quantization},
    request::AbstractiveParams,
    summarize::abstractive::{plan_chunks, AbstractiveModel},
};
use tch::Kind;

fn main() {
    let mut n = 6;
    let mut length = 60;
    let mut dirs = Vec::new();
    let mut it = std::env::args().skip(1).filter(|a| a != "--bench");
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--n" => n = it.next().and_then(|v| v.parse().ok()).expect("--n N"),
            "--length" => length = it.next().and_then(|v| v.parse().ok()).expect("--length L"),
            dir => dirs.push(std::path::PathBuf::from(dir)),
        }
    }
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/summarization/dev.jsonl");
    let Ok(dev) = std::fs::read_to_string(data) else {
        println!("skipping: {data} is absent (the shared dev data is not beside this checkout)");
        return;
    };
    let bodies: Vec<String> = dev
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|row| row["source"] == "cnndm")
        .take(n)
        .map(|row| row["body"].as_str().unwrap_or_default().to_string())
        .collect();
    for dir in dirs {
        let mut profile = ModelProfile::from_dir("fidelity", &dir).expect("model directory");
        // No n-gram ban: with it, a banned top token hands the choice to the runner-up, so
        // greedy outputs could differ where the teacher-forced top tokens all agree.
        profile.generation.no_repeat_ngram_size = 0;
        let float = AbstractiveModel::load(&profile, Placement::CPU).expect("float32 model loads");
        profile.quantization = Quantization::Int8;
        let int8 = AbstractiveModel::load(&profile, Placement::CPU).expect("int8 model loads");
        // Greedy, no minimum: each model stops where its own end-of-sequence says.
        let params = AbstractiveParams {
            model: None,
            min_tokens: Some(0),
            max_tokens: Some(length.min(profile.generation.max_length)),
            num_beams: Some(1),
        };
        let budget = profile.max_input_tokens - 2;
        let (mut mean_sum, mut scale_sum, mut max_diff) = (0.0, 0.0, 0f64);
        let (mut agree, mut positions, mut identical) = (0i64, 0i64, 0);
        for body in &bodies {
            let window = plan_chunks(body, budget, |s| float.count_tokens(s))
                .into_iter()
                .next()
                .unwrap_or_default();
            let input = float.encode(&window);
            let reference = float.generate_ids(&input, &params).expect("float32 generation");
            let quantized = int8.generate_ids(&input, &params).expect("int8 generation");
            identical += usize::from(reference == quantized);
            // Logits for every position after the start token that the output has.
            let fed = &reference[..reference.len() - 1];
            let (a, b) = (
                float.teacher_forced_logits(&input, fed),
                int8.teacher_forced_logits(&input, fed),
            );
            let diff = (&a - &b).abs();
            mean_sum += f64::try_from(diff.mean(Kind::Double)).unwrap() * fed.len() as f64;
            scale_sum += f64::try_from(a.abs().mean(Kind::Double)).unwrap() * fed.len() as f64;
            max_diff = max_diff.max(f64::try_from(diff.max()).unwrap());
            agree += i64::try_from(a.argmax(-1, false).eq_tensor(&b.argmax(-1, false)).sum(Kind::Int64)).unwrap();
            positions += fed.len() as i64;
        }
        let result = serde_json::json!({
            "model_dir": dir.display().to_string(),
            "articles": bodies.len(),
            "positions": positions,
            "logits_mean_abs_diff": mean_sum / positions as f64,
            "logits_max_abs_diff": max_diff,
            // For scale: the mean magnitude of the float32 logits.
            "logits_mean_abs": scale_sum / positions as f64,
            "top_token_agreement": agree as f64 / positions as f64,
            "greedy_identical_share": identical as f64 / bodies.len() as f64,
        });
        println!("{}", serde_json::to_string_pretty(&result).unwrap());
    }
}

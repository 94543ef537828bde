//! The flags both abstractive benches take: MODEL_DIR [--n 6] [--beams 4] [--length 60]
//! [--threads 2] [--batch-size 3] [--quantize none|int8].

use std::path::PathBuf;

use clap::ValueEnum;
use newsgist::models::Quantization;

pub struct Args {
    pub model_dir: PathBuf,
    /// Articles (requests, for the load bench).
    pub n: usize,
    pub beams: u32,
    /// Output tokens: min = max, so every run does the same work.
    pub length: u32,
    /// libtorch intra-op threads.
    pub threads: usize,
    /// Articles per generation call in the batched pass.
    pub batch_size: usize,
    /// The model's weights, as `newsgist --quantize` takes them.
    pub quantize: Quantization,
}

impl Args {
    pub fn parse() -> Args {
        let mut args = Args {
            model_dir: PathBuf::new(),
            n: 6,
            beams: 4,
            length: 60,
            threads: 2,
            batch_size: 3,
            quantize: Quantization::None,
        };
        let mut it = std::env::args().skip(1).filter(|a| a != "--bench");
        while let Some(arg) = it.next() {
            let mut value = || it.next().unwrap_or_else(|| panic!("{arg} needs a value"));
            match arg.as_str() {
                "--n" => args.n = value().parse().expect("--n"),
                "--beams" => args.beams = value().parse().expect("--beams"),
                "--length" => args.length = value().parse().expect("--length"),
                "--threads" => args.threads = value().parse().expect("--threads"),
                "--batch-size" => args.batch_size = value().parse().expect("--batch-size"),
                "--quantize" => args.quantize = Quantization::from_str(&value(), true).expect("--quantize none|int8"),
                other => args.model_dir = PathBuf::from(other),
            }
        }
        args
    }
}

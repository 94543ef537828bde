//! The `newsgist` command: `serve`, `summarize` and `batch`.

use std::{
    io::{BufRead, BufReader, IsTerminal, Read, Write},
    path::Path,
    process::ExitCode,
    time::Instant,
};

use chrono::{DateTime, NaiveDate, Utc};
use futures::StreamExt;
use serde::{Deserialize, Serialize};

use crate::{
    config::{self, BatchArgs, Command, LogFormat, ModelsCommand, OutputFormat, ServeArgs, SummarizeArgs},
    error::ServiceError,
    models::{hub, manifest},
    request::{Article, InvalidRequest},
    response::{FactField, SummaryResponse},
    server,
    service::{Service, StreamOrder, Submission},
};

/// Runs the command line; the process exit code says whether it worked.
pub fn run() -> ExitCode {
    let cli = match config::parse() {
        Ok(cli) => cli,
        Err(err) => {
            eprintln!("newsgist: {err}");
            return ExitCode::from(2);
        }
    };
    init_tracing(cli.log_format, &cli.log);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("building the tokio runtime");
    let outcome = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve(args).await,
            Command::Summarize(args) => summarize(args).await,
            Command::Batch(args) => batch(args).await,
            Command::Models { command } => tokio::task::spawn_blocking(move || models(command)).await?,
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("newsgist: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(format: LogFormat, filter: &str) {
    let filter =
        tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Pretty => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// `newsgist models list|fetch|verify`: blocking file and network work.
fn models(command: ModelsCommand) -> anyhow::Result<()> {
    let hub = hub::HubConfig::from_env()?;
    match command {
        ModelsCommand::List => {
            for status in hub::list(&hub) {
                println!("{status}");
            }
        }
        ModelsCommand::Fetch { name } => {
            let report = hub::fetch(manifest::manifest().get(&name)?, &hub)?;
            println!("{report}");
            anyhow::ensure!(report.is_ready(), "{name} is not ready to load; see above");
        }
        ModelsCommand::Verify { name } => {
            let report = hub::verify(manifest::manifest().get(&name)?, &hub)?;
            println!("{report}");
            anyhow::ensure!(
                report.is_ok(),
                "{name} failed verification; `newsgist models fetch {name}` repairs it"
            );
        }
    }
    Ok(())
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let config = args.server_config()?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|err| anyhow::anyhow!("cannot listen on {}: {err}", args.listen))?;
    server::serve(config, listener, server::shutdown_signal()).await?;
    Ok(())
}

/// An article as JSON input gives it (summarize's JSON files and batch lines).
#[derive(Debug, Default, Deserialize)]
struct ArticleRow {
    #[serde(default)]
    id: serde_json::Value,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    published_at: Option<String>,
    #[serde(default)]
    language: Option<String>,
}

impl ArticleRow {
    fn id(&self) -> String {
        match &self.id {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => String::new(),
            other => other.to_string(),
        }
    }

    fn into_article(self) -> anyhow::Result<Article> {
        Ok(Article {
            id: self.id(),
            title: self.title.unwrap_or_default(),
            body: self.body.unwrap_or_default(),
            url: self.url.unwrap_or_default(),
            published_at: self.published_at.as_deref().map(parse_time).transpose()?,
            language: self.language.unwrap_or_default(),
        })
    }
}

/// Reads RFC 3339, "YYYY-MM-DD HH:MM:SS" or "YYYY-MM-DD" (taken as UTC).
fn parse_time(text: &str) -> anyhow::Result<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }
    if let Ok(time) = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S") {
        return Ok(time.and_utc());
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(date.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc());
    }
    anyhow::bail!("cannot read time {text:?}: use RFC 3339 (2018-06-19T08:00:00Z) or YYYY-MM-DD")
}

fn read_utf8(path: &Path) -> anyhow::Result<String> {
    let mut bytes = Vec::new();
    if path == Path::new("-") {
        std::io::stdin().read_to_end(&mut bytes)?;
    } else {
        bytes = std::fs::read(path).map_err(|err| anyhow::anyhow!("cannot read {}: {err}", path.display()))?;
    }
    String::from_utf8(bytes).map_err(|err| {
        anyhow::anyhow!(
            "{} is not valid UTF-8 (first bad byte at offset {}): convert it to UTF-8 first",
            path.display(),
            err.utf8_error().valid_up_to()
        )
    })
}

async fn summarize(args: SummarizeArgs) -> anyhow::Result<()> {
    let config = args.engine.validate()?;
    let text = read_utf8(&args.input)?;
    let article = if text.trim_start().starts_with('{') {
        serde_json::from_str::<ArticleRow>(&text)
            .map_err(|err| {
                anyhow::anyhow!(
                    "{} looks like JSON but is not an article object: {err}",
                    args.input.display()
                )
            })?
            .into_article()?
    } else {
        Article {
            title: args.title.clone().unwrap_or_default(),
            body: text,
            published_at: args.published_at.as_deref().map(parse_time).transpose()?,
            ..Article::default()
        }
    };
    let submission = Submission {
        request_id: String::new(),
        article,
        options: args.request.options(),
    };
    let service = Service::start(config, None).await?;
    let response = service.summarize(submission, None).await?;
    let mut stdout = std::io::stdout().lock();
    match args.format {
        OutputFormat::Json => writeln!(stdout, "{}", serde_json::to_string_pretty(&response)?)?,
        OutputFormat::Text => write_text(&mut stdout, &response)?,
    }
    Ok(())
}

fn write_text(out: &mut impl Write, response: &SummaryResponse) -> std::io::Result<()> {
    if let Some(extractive) = &response.extractive {
        writeln!(
            out,
            "Summary ({} of {} sentences):",
            extractive.sentences.len(),
            extractive.total_sentences
        )?;
        for sentence in &extractive.sentences {
            writeln!(out, "  - {}", sentence.text)?;
        }
    }
    if let Some(abstractive) = &response.abstractive {
        writeln!(out, "Abstractive summary ({}):", abstractive.model_id)?;
        writeln!(out, "  {}", abstractive.text)?;
    }
    if let Some(facts) = &response.key_facts {
        writeln!(out, "Key facts:")?;
        let slot = |field: &Option<FactField>| match field {
            None => "-".to_string(),
            Some(f) => match &f.normalized {
                Some(norm) => format!("{} ({norm})", f.text),
                None => f.text.clone(),
            },
        };
        for (rank, fact) in facts.iter().enumerate() {
            writeln!(
                out,
                "  {}. who: {} | what: {} | when: {} | where: {}  [{:.2}]",
                rank + 1,
                slot(&fact.who),
                slot(&fact.what),
                slot(&fact.when),
                slot(&fact.where_),
                fact.confidence
            )?;
        }
    }
    Ok(())
}

/// One output line of `batch`: the response with the article's id, or the error.
#[derive(Serialize)]
#[serde(untagged)]
enum BatchRow {
    Done {
        id: String,
        #[serde(flatten)]
        response: SummaryResponse,
    },
    Failed {
        id: String,
        line: usize,
        error: BatchError,
    },
}

#[derive(Serialize)]
struct BatchError {
    code: &'static str,
    message: String,
}

async fn batch(args: BatchArgs) -> anyhow::Result<()> {
    let input = std::fs::File::open(&args.input)
        .map_err(|err| anyhow::anyhow!("cannot read {}: {err}", args.input.display()))?;
    let lines: Vec<Vec<u8>> = BufReader::new(input).split(b'\n').collect::<Result<_, _>>()?;
    let lines: Vec<(usize, Vec<u8>)> = lines
        .into_iter()
        .enumerate()
        .filter(|(_, l)| !l.trim_ascii().is_empty())
        .map(|(i, l)| (i + 1, l))
        .collect();
    let config = args.engine.validate()?;
    let output = std::fs::File::create(&args.output)
        .map_err(|err| anyhow::anyhow!("cannot write {}: {err}", args.output.display()))?;
    let mut output = std::io::BufWriter::new(output);
    let service = Service::start(config, None).await?;
    let progress = progress_bar(lines.len() as u64);
    let started = Instant::now();
    let options = args.request.options();
    let submissions = futures::stream::iter(lines).map(move |(line, bytes)| {
        let (id, submission) = read_row(&bytes, &options);
        Ok::<_, std::convert::Infallible>(((line, id), submission))
    });
    let mut rows = service.summarize_stream(submissions, StreamOrder::Input, None);
    let (mut done, mut failed) = (0usize, 0usize);
    while let Some(row) = rows.next().await {
        let Ok(((line, id), result)) = row;
        let row = match result {
            Ok(response) => {
                done += 1;
                BatchRow::Done { id, response }
            }
            Err(err) => {
                failed += 1;
                BatchRow::Failed {
                    id,
                    line,
                    error: BatchError {
                        code: err.kind().name(),
                        message: err.to_string(),
                    },
                }
            }
        };
        serde_json::to_writer(&mut output, &row)?;
        output.write_all(b"\n")?;
        progress.inc(1);
    }
    output.flush()?;
    progress.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "newsgist batch: {done} articles summarised, {failed} failed, in {seconds:.2} s ({:.1} articles/s) -> {}",
        (done + failed) as f64 / seconds.max(1e-9),
        args.output.display()
    );
    Ok(())
}

/// One input line as a submission, with the article's id (empty when the line has none).
fn read_row(bytes: &[u8], options: &crate::request::RawOptions) -> (String, Result<Submission, ServiceError>) {
    let unreadable = |message: String| ServiceError::from(InvalidRequest::Unreadable(message));
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => {
            return (
                String::new(),
                Err(unreadable(format!("line is not valid UTF-8: {err}"))),
            )
        }
    };
    let row: ArticleRow = match serde_json::from_str(text) {
        Ok(row) => row,
        Err(err) => {
            return (
                String::new(),
                Err(unreadable(format!("line is not a JSON article: {err}"))),
            )
        }
    };
    let id = row.id();
    let submission = row
        .into_article()
        .map(|article| Submission {
            request_id: id.clone(),
            article,
            options: options.clone(),
        })
        .map_err(|err| unreadable(err.to_string()));
    (id, submission)
}

fn progress_bar(len: u64) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} articles  {per_sec}  eta {eta}")
            .expect("valid progress template"),
    );
    bar
}

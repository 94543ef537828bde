//! The `newsgist` command: `serve`, `summarize` and `batch`.

use std::{
    io::{Read, Write},
    path::Path,
    process::ExitCode,
};

use crate::{
    archive::input::{self, FieldNames},
    archive::{input::InputSpec, FileFormat},
    batch::{self, BatchError},
    config::{
        self, BatchArgs, Command, ConfigError, DigestArgs, DigestFormat, LogFormat, ModelsCommand, OutputFormat,
        ServeArgs, SummarizeArgs,
    },
    digest::RawDigestOptions,
    models::{hub, manifest},
    otlp::{OtlpError, TraceExport},
    request::Article,
    response::{FactField, SummaryResponse},
    server,
    service::{DigestSubmission, FeedItem, Service, Submission},
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
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("building the tokio runtime");
    // The trace export runs on this runtime, so it is set up inside it.
    let traces = match runtime.block_on(async { init_tracing(cli.log_format, &cli.log, cli.otlp_endpoint.as_deref()) })
    {
        Ok(traces) => traces,
        Err(err) => {
            eprintln!("newsgist: {err}");
            return ExitCode::from(2);
        }
    };
    let outcome = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve(args).await,
            Command::Summarize(args) => summarize(args).await,
            Command::Batch(args) => batch(*args).await,
            Command::Digest(args) => digest(args).await,
            Command::Merge(args) => {
                let report = batch::merge(&args)?;
                eprintln!("newsgist merge: {} parts -> {}", report.parts, report.output.display());
                Ok(())
            }
            Command::Models { command } => tokio::task::spawn_blocking(move || models(command)).await?,
        }
    });
    // From this thread, not a worker's: the runtime's workers send the last spans.
    if let Some(traces) = traces {
        traces.shutdown();
    }
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("newsgist: {err:#}");
            // 2: the command cannot work as given; schedulers should not retry it.
            let refused = err
                .downcast_ref::<crate::error::ServiceError>()
                .is_some_and(|e| e.kind() == crate::error::ErrorKind::InvalidArgument);
            let code = match (err.downcast_ref::<BatchError>(), err.downcast_ref::<ConfigError>()) {
                (Some(batch), _) => batch.exit_code(),
                (None, Some(_)) => 2,
                (None, None) if refused => 2,
                (None, None) => 1,
            };
            ExitCode::from(code)
        }
    }
}

/// Logs to stderr and, with an OTLP endpoint, traces to its collector.
fn init_tracing(
    format: LogFormat,
    filter: &str,
    otlp_endpoint: Option<&str>,
) -> Result<Option<TraceExport>, OtlpError> {
    use tracing_subscriber::{layer::SubscriberExt, util::SubscriberInitExt, Layer};
    let filter =
        tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colour codes only for a terminal: not into a log file or a collector.
    let logs = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let logs = match format {
        LogFormat::Pretty => logs.boxed(),
        LogFormat::Json => logs.json().boxed(),
    };
    let traces = otlp_endpoint.map(TraceExport::start).transpose()?;
    tracing_subscriber::registry()
        .with(filter)
        .with(logs)
        .with(traces.as_ref().map(TraceExport::layer))
        .init();
    Ok(traces)
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
    if let Some(addr) = args.metrics_listen {
        let metrics = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|err| anyhow::anyhow!("cannot listen for metrics on {addr}: {err}"))?;
        tokio::spawn(crate::telemetry::serve(metrics));
    }
    server::serve(config, listener, server::shutdown_signal()).await?;
    Ok(())
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
        let (_, article) = input::article_from_json(&text, &FieldNames::default());
        article.map_err(|err| anyhow::anyhow!("{}: {err}", args.input.display()))?
    } else {
        Article {
            title: args.title.clone().unwrap_or_default(),
            body: text,
            published_at: args
                .published_at
                .as_deref()
                .map(input::parse_time)
                .transpose()
                .map_err(anyhow::Error::msg)?,
            ..Article::default()
        }
    };
    let submission = Submission {
        request_id: String::new(),
        article,
        options: args.request.options(),
    };
    // Bad input is refused before any model loads.
    let service = Service::new(config, None);
    let request = service.validate(submission)?;
    service.start_workers().await?;
    let response = service.run(request, None).await?;
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

async fn batch(args: BatchArgs) -> anyhow::Result<()> {
    let report = batch::run(args).await?;
    eprintln!(
        "newsgist batch: {} articles summarised, {} failed, in {:.2} s ({:.1} articles/s) -> {}",
        report.rows - report.failed,
        report.failed,
        report.seconds,
        report.rows_per_second,
        report.output.display()
    );
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

/// `newsgist digest`: reads the feed on a thread of its own (the readers block) and hands
/// its articles to the service as they are read.
async fn digest(args: DigestArgs) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let config = args.engine.validate()?;
    let time = |flag: &str, text: &Option<String>| {
        text.as_deref()
            .map(input::parse_time)
            .transpose()
            .map_err(|err| ConfigError::Invalid(format!("{flag}: {err}")))
    };
    let options = RawDigestOptions {
        title: args.title.clone(),
        max_stories: Some(args.max_stories),
        sentences: Some(args.sentences),
        max_facts: Some(args.max_facts),
        window_start: time("--window-start", &args.window_start)?,
        window_end: time("--window-end", &args.window_end)?,
        story_gap_hours: Some(args.story_gap_hours),
    };
    let template = args.template.as_deref().map(read_utf8).transpose()?;
    if args.output != Path::new("-") && args.output == args.input {
        return Err(ConfigError::Invalid("--output is the --input feed: name another file".into()).into());
    }
    let service = Service::new(config, None);
    if args.abstractive {
        service.start_workers().await?;
    }
    let format = args.input_format.unwrap_or_else(|| FileFormat::of_path(&args.input));
    let fields = FieldNames::default();
    let (rows, _) = input::open(
        &InputSpec {
            path: &args.input,
            format,
            fields: &fields,
            shard: crate::archive::input::Shard::WHOLE,
            skip: 0,
        },
        std::sync::Arc::new(|_| {}),
    )?;
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<FeedItem, anyhow::Error>>(256);
    let reader = tokio::task::spawn_blocking(move || {
        for row in rows {
            let item = row
                .map(|row| row.article.map_err(|message| (row.id, message)))
                .map_err(|err| anyhow::anyhow!("cannot read {}: {err}", args.input.display()));
            if sender.blocking_send(item).is_err() {
                break;
            }
        }
    });
    let feed = futures::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    });
    let submission = DigestSubmission {
        options,
        abstractive: args.abstractive,
        renderings: match args.format {
            DigestFormat::Json if template.is_none() => Vec::new(),
            format => vec![(format, template)],
        },
    };
    let outcome = service.digest(submission, feed, None).await?;
    reader.await?;
    let text = match outcome.rendered.into_iter().next() {
        Some((_, text)) => text,
        None => crate::digest::render::render(&outcome.digest, DigestFormat::Json, None)?,
    };
    if args.output == Path::new("-") {
        std::io::stdout().lock().write_all(text.as_bytes())?;
    } else {
        std::fs::write(&args.output, &text)
            .map_err(|err| anyhow::anyhow!("cannot write {}: {err}", args.output.display()))?;
    }
    let digest = &outcome.digest;
    eprintln!(
        "newsgist digest: {} articles, {} stories ({} shown), {} near-copies, {} rejected, in {:.2} s -> {}",
        digest.articles,
        digest.stories_total,
        digest.stories.len(),
        digest.near_copies,
        digest.rejected.len(),
        started.elapsed().as_secs_f64(),
        args.output.display()
    );
    Ok(())
}
